import type { RunMode, RunTrigger } from "../../db/schema";
import { completeRun } from "../../lib/pipeline/complete-run";
import { planRun } from "../../lib/pipeline/plan";
import {
  createRun,
  describeRun,
  finishRun,
  getRun,
  heartbeat,
  pendingItemCount,
} from "../../lib/pipeline/runs";
import { inngest } from "../client";
import { batchRequested, runBatchesCompleted, syncCompleted, syncRequested } from "../events";
import { deps, withRetryPolicy } from "../policy";

/** How long a sync may wait for another sync of the same source (60 × 30 s). */
const BUSY_ROUNDS = 60;
/** How long the orchestrator waits for batches: rounds of WAIT_TIMEOUT (2 hours in all). */
const WAIT_ROUNDS = 60;
const WAIT_TIMEOUT = "2m";

/**
 * sync-source: one run of one source.
 *   1. create-run — the run for this request (the same dedupe key is the same run)
 *   2. plan — claim the run, diff or list, write the batches (waits while the source is busy)
 *   3. fan-out-batches — one `source/batch.requested` event per batch
 *   4. check-progress / wait-for-batches — until no document is pending
 *   5. complete-run — rebuild the vector index if needed, final counts, advance the cursor
 *   6. emit-completed — `source/sync.completed`
 */
export const syncSource = inngest.createFunction(
  {
    id: "sync-source",
    triggers: [syncRequested],
    concurrency: [{ key: "event.data.sourceId", limit: 1 }],
    retries: 4,
    onFailure: async ({ event, error, step }) => {
      // After the last retry: the run ends as failed (created if the failure came before it was).
      const original = event.data.event.data as Partial<{
        dedupeKey: string;
        sourceId: string;
        trigger: RunTrigger;
        mode: RunMode;
      }>;
      const { dedupeKey, sourceId } = original;
      if (!dedupeKey || !sourceId) return;
      await step.run("fail-run", async () => {
        const { db } = await deps();
        const run = await createRun(db, {
          sourceId,
          dedupeKey,
          trigger: original.trigger ?? "admin",
          mode: original.mode ?? "incremental",
        });
        await finishRun(db, run.id, "failed", { error: `sync function failed: ${error.message}` });
      });
    },
  },
  async ({ event, step }) => {
    const { sourceId, mode, trigger, dedupeKey } = event.data;
    const run = await step.run("create-run", async () => {
      const created = await createRun((await deps()).db, { sourceId, mode, trigger, dedupeKey });
      return { id: created.id };
    });

    let plan = await step.run("plan", () =>
      withRetryPolicy(async () => planRun(await deps(), run.id)),
    );
    for (let round = 0; plan.state === "busy" && round < BUSY_ROUNDS; round++) {
      await step.sleep(`wait-for-source-${round}`, "30s");
      plan = await step.run(`plan-retry-${round}`, () =>
        withRetryPolicy(async () => planRun(await deps(), run.id)),
      );
    }
    if (plan.state === "busy") {
      await step.run("give-up-busy", async () =>
        finishRun((await deps()).db, run.id, "failed", {
          error: `source stayed busy with run ${plan.state === "busy" ? plan.blockingRunId : "?"} for 30 minutes`,
        }),
      );
    }

    if (plan.state === "planned" && plan.batches > 0) {
      const batches = Array.from({ length: plan.batches }, (_, batch) =>
        batchRequested.create(
          { runId: run.id, sourceId, batch },
          { id: `${run.id}:batch:${batch}` },
        ),
      );
      await step.sendEvent("fan-out-batches", batches);
      for (let round = 0; ; round++) {
        const pending = await step.run(`check-progress-${round}`, async () => {
          const d = await deps();
          await heartbeat(d.db, run.id);
          return pendingItemCount(d.db, run.id);
        });
        if (pending === 0) break;
        if (round >= WAIT_ROUNDS) {
          await step.run("abandon-stuck-batches", async () =>
            completeRun(await deps(), run.id, { abandonPendingAs: "not processed within 2 hours" }),
          );
          break;
        }
        await step.waitForEvent(`wait-for-batches-${round}`, {
          event: runBatchesCompleted,
          timeout: WAIT_TIMEOUT,
          if: `async.data.runId == "${run.id}"`,
        });
      }
    }

    const summary = await step.run("complete-run", async () => {
      const d = await deps();
      const current = await getRun(d.db, run.id);
      const done = current.status === "running" ? await completeRun(d, run.id) : current;
      return describeRun(d.db, done);
    });
    await step.sendEvent(
      "emit-completed",
      syncCompleted.create(
        {
          runId: run.id,
          sourceId,
          status:
            summary.status === "queued" || summary.status === "running" ? "failed" : summary.status,
          processed: summary.counts.processed,
          failed: summary.counts.failed,
          toCommit: summary.toCommit,
        },
        { id: `${run.id}:completed` },
      ),
    );
    return summary;
  },
);
