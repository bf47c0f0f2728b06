import { syncSourceWorkflow } from "../../lib/workflows/sync-source";
import { inngest } from "../client";
import { syncRequested } from "../events";
import { concurrencyOf, runFailure, runWorkflow } from "../workflow";

/**
 * sync-source: one run of one source. The rules live in lib/workflows/sync-source.ts:
 *   1. create-run  2. plan (plan-retry-N while the source is busy, then give-up-busy)
 *   3. fan-out-batches  4. check-progress-N / wait-for-batches-N (abandon-stuck-batches)
 *   5. complete-run  6. emit-completed
 * onFailure: fail-run.
 */
export const syncSource = inngest.createFunction(
  {
    id: syncSourceWorkflow.id,
    triggers: [syncRequested],
    concurrency: concurrencyOf(syncSourceWorkflow),
    retries: syncSourceWorkflow.retries,
    onFailure: ({ event, error, step, runId, attempt }) =>
      runFailure(syncSourceWorkflow, event, error, step, { runId, attempt }),
  },
  ({ event, step, runId, attempt }) =>
    runWorkflow(syncSourceWorkflow, event, step, { runId, attempt }),
);
