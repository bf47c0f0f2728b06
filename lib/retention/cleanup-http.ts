import { z } from "zod";
import { adminRoute } from "../http/admin";
import { json, readJsonBody } from "../http/respond";
import type { EventSender } from "../outbox/outbox";
import { cleanupView, decideAndNotify } from "./cleanup";

const decisionBody = z.strictObject({
  reason: z.string().trim().min(3, "say why (3-1000 characters)").max(1000),
});

/**
 * POST /api/admin/cleanup/:runId/approve|reject (admin, audited with the reason): the
 * decision on a cleanup awaiting approval. `{ "reason": "…" }` → 200 with the run.
 */
export function cleanupDecisionRoute(decision: "approve" | "reject", send: () => EventSender) {
  return adminRoute<{ runId: string }>(
    { role: "admin", action: `cleanup.${decision}`, target: (p) => p.runId },
    async ({ runtime, request, params, key, note }) => {
      const { reason } = decisionBody.parse(await readJsonBody(request, 16 * 1024));
      note({ reason });
      const { run, dispatched } = await decideAndNotify(
        runtime.db,
        params.runId,
        decision,
        { by: key.name, reason },
        send(),
      );
      return json({ run: cleanupView(run), dispatched });
    },
  );
}
