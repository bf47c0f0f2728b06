import type { Database } from "../../db/client";
import type { RunMode, RunTrigger } from "../../db/schema";
import { enqueueEvents, type OutboxEvent } from "../outbox/outbox";
import { SYNC_REQUESTED } from "../workflows/events";
import { createRun, type RunRecord } from "./runs";

export interface SyncRequest {
  sourceId: string;
  mode: RunMode;
  trigger: RunTrigger;
  requestedBy?: string;
  pushedCommit?: string;
  /** The same key twice is the same run (a redelivered webhook, a replayed request). */
  dedupeKey: string;
  note?: string;
  /** The first cause's id; default: the dedupe key. */
  correlationId?: string;
  /** Write the event to the outbox (default). False when the caller sends it durably itself. */
  outbox?: boolean;
}

/**
 * Records a sync request durably: a queued run (so operators see it at once, even while
 * Inngest is unreachable) and the `source/sync.requested` event in the outbox, in one
 * transaction. The caller dispatches the outbox afterwards.
 */
export async function requestSync(
  db: Database,
  request: SyncRequest,
): Promise<{ run: RunRecord; event: OutboxEvent }> {
  return db.transaction(async (tx) => {
    const t = tx as unknown as Database;
    const run = await createRun(t, {
      sourceId: request.sourceId,
      trigger: request.trigger,
      mode: request.mode,
      dedupeKey: request.dedupeKey,
      note: request.note,
      correlationId: request.correlationId ?? request.dedupeKey,
    });
    const event: OutboxEvent = {
      id: request.dedupeKey,
      name: SYNC_REQUESTED,
      data: {
        sourceId: request.sourceId,
        mode: request.mode,
        trigger: request.trigger,
        dedupeKey: request.dedupeKey,
        correlationId: request.correlationId ?? request.dedupeKey,
        ...(request.requestedBy ? { requestedBy: request.requestedBy } : {}),
        ...(request.pushedCommit ? { pushedCommit: request.pushedCommit } : {}),
      },
    };
    if (request.outbox !== false) await enqueueEvents(t, [event]);
    return { run, event };
  });
}
