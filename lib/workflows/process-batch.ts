import { errorMessage } from "../errors";
import { processBatch } from "../pipeline/process-batch";
import { failPendingItems, pendingItemCount } from "../pipeline/runs";
import { classifyFailure, defineWorkflow } from "./define";
import { BATCH_REQUESTED, BATCHES_COMPLETED, batchRequestedData } from "./events";
import { syncTiming } from "./sync-source";
import type { WorkflowEvent } from "./types";

function batchesCompleted(runId: string, sourceId: string, correlationId: string): WorkflowEvent {
  return {
    id: `${runId}:batches-completed`,
    name: BATCHES_COMPLETED,
    data: { runId, sourceId, correlationId },
  };
}

/**
 * process-batch: one batch of one run.
 *   1. process-batch — fetch, filter, chunk, hash, embed what changed, write (lib/pipeline)
 *   2. signal-batches-completed — when it was the run's last pending batch
 * After the last retry, onFailure marks the batch's documents failed (the next sync retries
 * them) and signals completion if nothing else is pending, so the run still ends.
 */
export const processBatchWorkflow = defineWorkflow({
  id: "process-batch",
  triggers: [{ event: BATCH_REQUESTED }],
  schema: batchRequestedData,
  concurrency: [{ key: "sourceId", limit: 2 }, { limit: 8 }],
  retries: 5,
  async handler({ event, step, env, correlationId }) {
    const { runId, sourceId, batch } = event.data;
    const timing = syncTiming(await env.deps());
    let outcome = await step.run("process-batch", async () =>
      processBatch(await env.deps(), runId, batch),
    );
    // An open breaker: sleep until its retry time (no step retry spent), then try again; after
    // breakerWaitRounds, the batch's documents go to the dead-letter queue.
    for (let round = 0; outcome.blocked && round < timing.breakerWaitRounds; round++) {
      const waitMs = Math.max(0, outcome.blocked.retryAt - Date.now());
      await step.sleep(`wait-for-breaker-${round}`, Math.max(1, waitMs));
      outcome = await step.run(`process-batch-retry-${round}`, async () =>
        processBatch(await env.deps(), runId, batch),
      );
    }
    if (outcome.blocked) {
      const blocked = outcome.blocked;
      const pending = await step.run("dead-letter-batch", async () => {
        const { db } = await env.deps();
        await failPendingItems(db, runId, batch, blocked.message, {
          errorClass: "breaker_open",
          dependency: blocked.dependency,
        });
        return pendingItemCount(db, runId);
      });
      outcome = { ...outcome, pendingInRun: pending };
    }
    if (outcome.pendingInRun === 0 && !outcome.runEnded)
      await step.sendEvents("signal-batches-completed", [
        batchesCompleted(runId, sourceId, correlationId),
      ]);
    return outcome;
  },
  async onFailure({ event, error, step, env, correlationId }) {
    const { runId, sourceId, batch } = event.data;
    const pending = await step.run("fail-batch", async () => {
      const { db } = await env.deps();
      const failure = classifyFailure(error);
      await failPendingItems(
        db,
        runId,
        batch,
        `batch failed after retries: ${errorMessage(error)}`,
        failure,
      );
      return pendingItemCount(db, runId);
    });
    if (pending === 0)
      await step.sendEvents("signal-batches-completed", [
        batchesCompleted(runId, sourceId, correlationId),
      ]);
  },
});
