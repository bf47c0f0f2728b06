import { sendEvents } from "../../../../../inngest/send";
import { adminRoute } from "../../../../../lib/http/admin";
import { json } from "../../../../../lib/http/respond";
import { dispatchOutbox } from "../../../../../lib/outbox/outbox";
import { retryAll } from "../../../../../lib/recovery/operator";

export const dynamic = "force-dynamic";

/** Re-drives every pending and parked entry now (operator, audited). */
export const POST = adminRoute(
  { role: "operator", action: "dlq.retry-all" },
  async ({ runtime, key, requestId, note }) => {
    const { count, eventIds } = await retryAll(runtime.db, key.name, `admin:${requestId}`);
    const sent = await dispatchOutbox(runtime.db, sendEvents, { ids: eventIds });
    note({ count, events: eventIds.length, dispatched: sent.sent });
    return json(
      { retried: count, events: eventIds.length, dispatched: sent.sent === eventIds.length },
      202,
    );
  },
);
