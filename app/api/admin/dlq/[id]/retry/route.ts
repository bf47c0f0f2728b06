import { sendEvents } from "../../../../../../inngest/send";
import { adminRoute } from "../../../../../../lib/http/admin";
import { json } from "../../../../../../lib/http/respond";
import { dispatchOutbox } from "../../../../../../lib/outbox/outbox";
import { retryEntry } from "../../../../../../lib/recovery/operator";

export const dynamic = "force-dynamic";

/** Re-drives one pending or parked entry now, whatever its backoff (operator, audited). */
export const POST = adminRoute<{ id: string }>(
  { role: "operator", action: "dlq.retry", target: (p) => p.id.slice(0, 100) },
  async ({ runtime, params, key, requestId, note }) => {
    const { entry, eventIds } = await retryEntry(
      runtime.db,
      params.id,
      key.name,
      `admin:${requestId}`,
    );
    const sent = await dispatchOutbox(runtime.db, sendEvents, { ids: eventIds });
    note({ kind: entry.kind, recoveries: entry.recoveries, dispatched: sent.sent });
    return json({ entry, dispatched: sent.sent === eventIds.length }, 202);
  },
);
