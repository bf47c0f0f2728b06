import { monitorWorkflow } from "../../lib/workflows/monitor";
import { inngest } from "../client";
import { schedules, workflowRequested } from "../events";
import { concurrencyOf, runWorkflow } from "../workflow";

/**
 * monitor (every 5 minutes, or on `workflow/monitor.requested`):
 *   1. measure  2. evaluate-rules  3. plan-notifications  4. deliver  5. maintain-series
 */
export const monitor = inngest.createFunction(
  {
    id: monitorWorkflow.id,
    triggers: [schedules.monitor, workflowRequested(monitorWorkflow.id)],
    concurrency: concurrencyOf(monitorWorkflow),
    retries: monitorWorkflow.retries,
  },
  ({ event, step }) => runWorkflow(monitorWorkflow, event, step),
);
