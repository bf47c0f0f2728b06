import { z } from "zod";
import { adminRoute } from "../../../../lib/http/admin";
import { json } from "../../../../lib/http/respond";
import { cleanupView, listCleanupRuns } from "../../../../lib/retention/cleanup";

export const dynamic = "force-dynamic";

const query = z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(20) });

/** Recent cleanup runs (viewer), newest first, with plans and counts. */
export const GET = adminRoute(
  { role: "viewer", action: "cleanup.list" },
  async ({ runtime, request }) => {
    const { limit } = query.parse(Object.fromEntries(new URL(request.url).searchParams));
    return json({ runs: (await listCleanupRuns(runtime.db, limit)).map(cleanupView) });
  },
);
