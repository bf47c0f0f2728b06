import { z } from "zod";
import { listAudit } from "../../../../lib/auth/audit";
import { adminRoute } from "../../../../lib/http/admin";
import { json } from "../../../../lib/http/respond";

export const dynamic = "force-dynamic";

const query = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  before: z.coerce.number().int().min(1).optional(),
});

/** The audit log, newest first (admin). */
export const GET = adminRoute(
  { role: "admin", action: "audit.list" },
  async ({ runtime, request }) => {
    const params = query.parse(Object.fromEntries(new URL(request.url).searchParams));
    return json({ entries: await listAudit(runtime.db, params) });
  },
);
