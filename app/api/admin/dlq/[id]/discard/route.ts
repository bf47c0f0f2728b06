import { z } from "zod";
import { adminRoute } from "../../../../../../lib/http/admin";
import { json, readJsonBody } from "../../../../../../lib/http/respond";
import { discardDeadLetter } from "../../../../../../lib/recovery/dlq";

export const dynamic = "force-dynamic";

const body = z.strictObject({ reason: z.string().trim().min(3).max(500) });

/** Gives up on an entry; `{ "reason": "…" }` is required and audited (operator). */
export const POST = adminRoute<{ id: string }>(
  { role: "operator", action: "dlq.discard", target: (p) => p.id.slice(0, 100) },
  async ({ runtime, request, params, key, note }) => {
    const { reason } = body.parse(await readJsonBody(request, 16 * 1024));
    note({ reason });
    const entry = await discardDeadLetter(runtime.db, params.id, key.name, reason);
    return json({ entry });
  },
);
