import { errorRecoveryWorkflow } from "../../lib/workflows/error-recovery";
import { inngest } from "../client";
import { functionFailed, schedules, workflowRequested } from "../events";
import { concurrencyOf, runWorkflow } from "../workflow";

/**
 * error-recovery (every 15 minutes, on `workflow/error-recovery.requested`, and on
 * `inngest/function.failed` for Ballast's functions):
 *   1. record-failure  2. plan-recovery  3. redrive  4. check-alerts
 */
export const errorRecovery = inngest.createFunction(
  {
    id: errorRecoveryWorkflow.id,
    triggers: [
      schedules.errorRecovery,
      workflowRequested(errorRecoveryWorkflow.id),
      functionFailed,
    ],
    concurrency: concurrencyOf(errorRecoveryWorkflow),
    retries: errorRecoveryWorkflow.retries,
  },
  ({ event, step }) => runWorkflow(errorRecoveryWorkflow, event, step),
);
