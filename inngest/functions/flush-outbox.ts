import { flushOutboxWorkflow } from "../../lib/workflows/flush-outbox";
import { inngest } from "../client";
import { schedules, workflowRequested } from "../events";
import { concurrencyOf, runWorkflow } from "../workflow";

/**
 * flush-outbox (every 5 minutes, or on `workflow/flush-outbox.requested`):
 *   1. dispatch — re-send events that could not reach Inngest when they were recorded
 */
export const flushOutbox = inngest.createFunction(
  {
    id: flushOutboxWorkflow.id,
    triggers: [schedules.flushOutbox, workflowRequested(flushOutboxWorkflow.id)],
    concurrency: concurrencyOf(flushOutboxWorkflow),
    retries: flushOutboxWorkflow.retries,
  },
  ({ event, step, runId, attempt }) =>
    runWorkflow(flushOutboxWorkflow, event, step, { runId, attempt }),
);
