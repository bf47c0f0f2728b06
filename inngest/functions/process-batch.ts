import { processBatchWorkflow } from "../../lib/workflows/process-batch";
import { inngest } from "../client";
import { batchRequested } from "../events";
import { concurrencyOf, runFailure, runWorkflow } from "../workflow";

/**
 * process-batch: one batch of one run (lib/workflows/process-batch.ts):
 *   1. process-batch  2. signal-batches-completed (when it was the run's last pending batch)
 * onFailure: fail-batch, then signal-batches-completed if nothing else is pending.
 * Throttled to 120 batch starts a minute: the second layer under the providers' shared RPM/TPM
 * budgets (lib/limits/budget.ts), which stay the exact limit.
 */
export const processBatchFn = inngest.createFunction(
  {
    id: processBatchWorkflow.id,
    triggers: [batchRequested],
    concurrency: concurrencyOf(processBatchWorkflow),
    retries: processBatchWorkflow.retries,
    throttle: { limit: 120, period: "1m" },
    onFailure: ({ event, error, step, runId, attempt }) =>
      runFailure(processBatchWorkflow, event, error, step, { runId, attempt }),
  },
  ({ event, step, runId, attempt }) =>
    runWorkflow(processBatchWorkflow, event, step, { runId, attempt }),
);
