import { processBatch } from "../../lib/pipeline/process-batch";
import { pendingItemCount } from "../../lib/pipeline/runs";
import { failPendingBatch } from "../../lib/pipeline/sync-local";
import { inngest } from "../client";
import { batchRequested, runBatchesCompleted } from "../events";
import { deps, withRetryPolicy } from "../policy";

/**
 * process-batch: one batch of one run.
 *   1. process-batch — fetch, filter, chunk, hash, embed what changed, write (lib/pipeline)
 *   2. signal-batches-completed — when it was the run's last pending batch
 * After the last retry, onFailure marks the batch's documents failed (the next sync retries
 * them) and signals completion if nothing else is pending, so the run still ends.
 */
export const processBatchFn = inngest.createFunction(
  {
    id: "process-batch",
    triggers: [batchRequested],
    concurrency: [{ key: "event.data.sourceId", limit: 2 }, { limit: 8 }],
    retries: 5,
    onFailure: async ({ event, error, step }) => {
      const { runId, sourceId, batch } = event.data.event.data as {
        runId: string;
        sourceId: string;
        batch: number;
      };
      const pending = await step.run("fail-batch", async () => {
        const d = await deps();
        await failPendingBatch(d, runId, batch, error.message);
        return pendingItemCount(d.db, runId);
      });
      if (pending === 0)
        await step.sendEvent(
          "signal-batches-completed",
          runBatchesCompleted.create({ runId, sourceId }, { id: `${runId}:batches-completed` }),
        );
    },
  },
  async ({ event, step }) => {
    const { runId, sourceId, batch } = event.data;
    const outcome = await step.run("process-batch", () =>
      withRetryPolicy(async () => processBatch(await deps(), runId, batch)),
    );
    if (outcome.pendingInRun === 0 && !outcome.runEnded) {
      await step.sendEvent(
        "signal-batches-completed",
        runBatchesCompleted.create({ runId, sourceId }, { id: `${runId}:batches-completed` }),
      );
    }
    return outcome;
  },
);
