import { scheduleSyncsWorkflow } from "../../lib/workflows/schedule-syncs";
import { inngest } from "../client";
import { schedules, workflowRequested } from "../events";
import { concurrencyOf, runWorkflow } from "../workflow";

/**
 * schedule-syncs (every 6 hours, or on `workflow/schedule-syncs.requested`):
 *   1. plan-syncs — queued runs for sources not already syncing
 *   2. request-syncs — one `source/sync.requested` each, staggered by 30 s
 */
export const scheduleSyncs = inngest.createFunction(
  {
    id: scheduleSyncsWorkflow.id,
    triggers: [schedules.syncAll, workflowRequested(scheduleSyncsWorkflow.id)],
    concurrency: concurrencyOf(scheduleSyncsWorkflow),
    retries: scheduleSyncsWorkflow.retries,
  },
  ({ event, step, runId, attempt }) =>
    runWorkflow(scheduleSyncsWorkflow, event, step, { runId, attempt }),
);
