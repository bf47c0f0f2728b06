import { errorMessage } from "../errors";
import { recordRunOutcome } from "../ledger/pipeline";
import { completeRun } from "../pipeline/complete-run";
import type { PipelineDeps } from "../pipeline/deps";
import { planRun } from "../pipeline/plan";
import {
  createRun,
  describeRun,
  finishRun,
  getRun,
  heartbeat,
  pendingItemCount,
} from "../pipeline/runs";
import { defineWorkflow } from "./define";
import {
  BATCH_REQUESTED,
  BATCHES_COMPLETED,
  SYNC_COMPLETED,
  SYNC_REQUESTED,
  syncRequestedData,
} from "./events";

/**
 * The orchestration rules of a sync, written once for every driver (Inngest, the embedded
 * runner, the CLI): how long to wait for a busy source, how batches are awaited, when pending
 * documents are abandoned, and the final status.
 */
export interface SyncTiming {
  /** Between two planning attempts while another run of the source is running. */
  busyPollMs: number;
  /** How long a sync waits for a busy source before it fails. */
  busyWaitMs: number;
  /** One wait for the batches-completed signal; progress is re-checked after each. */
  batchPollMs: number;
  /** How long batches may take in all before pending documents are abandoned as failed. */
  batchWaitMs: number;
  /**
   * How many times a batch sleeps until an open circuit breaker's retry time before its
   * documents go to the dead-letter queue (sleeps spend no step retries).
   */
  breakerWaitRounds: number;
}

export const SYNC_TIMING: SyncTiming = {
  busyPollMs: 30_000,
  busyWaitMs: 30 * 60_000,
  batchPollMs: 2 * 60_000,
  batchWaitMs: 2 * 60 * 60_000,
  breakerWaitRounds: 12,
};

export function syncTiming(deps: Pick<PipelineDeps, "syncTiming">): SyncTiming {
  return { ...SYNC_TIMING, ...deps.syncTiming };
}

const minutes = (ms: number) =>
  ms < 60_000 ? `${Math.round(ms / 1000)} seconds` : `${Math.round(ms / 60_000)} minutes`;

/**
 * sync-source: one run of one source.
 *   1. create-run — the run for this request (the same dedupe key is the same run)
 *   2. plan — claim the run, diff or list, write the batches; while the source is busy,
 *      plan-retry-N after a sleep, then give-up-busy
 *   3. fan-out-batches — one `source/batch.requested` event per batch
 *   4. check-progress-N / wait-for-batches-N — until no document is pending; after
 *      batchWaitMs, abandon-stuck-batches
 *   5. complete-run — build the vector index if needed, final counts, advance the cursor,
 *      and the run's outcome in the parity ledger (counts, errors, cursor, index digest)
 *   6. emit-completed — `source/sync.completed`
 * After a step's last retry, onFailure ends the run as failed, so the source is never left busy.
 */
export const syncSourceWorkflow = defineWorkflow({
  id: "sync-source",
  triggers: [{ event: SYNC_REQUESTED }],
  schema: syncRequestedData,
  concurrency: [{ key: "sourceId", limit: 1 }],
  retries: 4,
  async handler({ event, step, env, correlationId, trace }) {
    const { sourceId, mode, trigger, dedupeKey } = event.data;
    const timing = syncTiming(await env.deps());
    const run = await step.run("create-run", async () => {
      const created = await createRun((await env.deps()).db, {
        sourceId,
        mode,
        trigger,
        dedupeKey,
        correlationId,
      });
      return { id: created.id };
    });
    trace.annotate({ runId: run.id });

    let plan = await step.run("plan", async () => planRun(await env.deps(), run.id));
    const busyRounds = Math.ceil(timing.busyWaitMs / timing.busyPollMs);
    for (let round = 0; plan.state === "busy" && round < busyRounds; round++) {
      await step.sleep(`wait-for-source-${round}`, timing.busyPollMs);
      plan = await step.run(`plan-retry-${round}`, async () => planRun(await env.deps(), run.id));
    }
    if (plan.state === "busy") {
      const blocking = plan.blockingRunId;
      await step.run("give-up-busy", async () =>
        finishRun((await env.deps()).db, run.id, "failed", {
          error: `source stayed busy with run ${blocking} for ${minutes(timing.busyWaitMs)}`,
        }),
      );
    }

    if (plan.state === "planned" && plan.batches > 0) {
      await step.sendEvents(
        "fan-out-batches",
        Array.from({ length: plan.batches }, (_, batch) => ({
          id: `${run.id}:batch:${batch}`,
          name: BATCH_REQUESTED,
          data: { runId: run.id, sourceId, batch, correlationId },
        })),
      );
      const waitRounds = Math.ceil(timing.batchWaitMs / timing.batchPollMs);
      for (let round = 0; ; round++) {
        const pending = await step.run(`check-progress-${round}`, async () => {
          const { db } = await env.deps();
          await heartbeat(db, run.id);
          return pendingItemCount(db, run.id);
        });
        if (pending === 0) break;
        if (round >= waitRounds) {
          await step.run("abandon-stuck-batches", async () =>
            completeRun(await env.deps(), run.id, {
              abandonPendingAs: `not processed within ${minutes(timing.batchWaitMs)}`,
            }),
          );
          break;
        }
        await step.waitForEvent(`wait-for-batches-${round}`, {
          event: BATCHES_COMPLETED,
          match: { runId: run.id },
          timeoutMs: timing.batchPollMs,
        });
      }
    }

    const summary = await step.run("complete-run", async () => {
      const deps = await env.deps();
      const current = await getRun(deps.db, run.id);
      const done = current.status === "running" ? await completeRun(deps, run.id) : current;
      // The parity ledger's outcome entry (keyed by the run: a replayed event adds nothing).
      await recordRunOutcome(deps, run.id);
      return describeRun(deps.db, done);
    });
    await step.sendEvents("emit-completed", [
      {
        id: `${run.id}:completed`,
        name: SYNC_COMPLETED,
        data: {
          runId: run.id,
          sourceId,
          status:
            summary.status === "queued" || summary.status === "running" ? "failed" : summary.status,
          processed: summary.counts.processed,
          failed: summary.counts.failed,
          toCommit: summary.toCommit,
          correlationId,
        },
      },
    ]);
    return summary;
  },
  async onFailure({ event, error, step, env, correlationId }) {
    // The run ends as failed (created if the failure came before it was).
    const { sourceId, dedupeKey, trigger, mode } = event.data;
    await step.run("fail-run", async () => {
      const { db } = await env.deps();
      const run = await createRun(db, { sourceId, dedupeKey, trigger, mode, correlationId });
      await finishRun(db, run.id, "failed", {
        error: `sync failed: ${errorMessage(error)}`.slice(0, 2000),
      });
    });
  },
});
