import { sendEvents } from "../../inngest/send";
import { dispatchOutbox, type OutboxEvent } from "../../lib/outbox/outbox";
import { type ReplayRequestInput, requestReplay } from "../../lib/replay/request";
import type { Runtime } from "../../lib/runtime";

/**
 * Starts a replay for an operator, the same from the API (POST /api/admin/replays) and the
 * console's form: the request goes into the audit note, the `workflow/replay.requested` event
 * into the outbox, and the outbox is dispatched at once (the flush cron retries what fails).
 */
export async function startReplay(
  runtime: Runtime,
  input: ReplayRequestInput,
  by: { requestedBy: string; correlationId: string },
  note: (details: Record<string, unknown>) => void,
): Promise<{ event: OutboxEvent; dispatched: boolean }> {
  note({
    since: input.since ?? null,
    until: input.until ?? null,
    bundle: input.bundle ?? null,
    source: input.source ?? null,
    minPassRate: input.minPassRate ?? null,
  });
  const event = await requestReplay(runtime, input, by);
  const sent = await dispatchOutbox(runtime.db, sendEvents, { ids: [event.id] });
  const dispatched = sent.sent === 1;
  note({ event: event.id, dispatched });
  return { event, dispatched };
}
