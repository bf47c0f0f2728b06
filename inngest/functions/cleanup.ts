import { cleanupWorkflow } from "../../lib/workflows/cleanup";
import { inngest } from "../client";
import { schedules, workflowRequested } from "../events";
import { concurrencyOf, runFailure, runWorkflow } from "../workflow";

/**
 * cleanup (daily at 02:00 UTC, or on `workflow/cleanup.requested`). The rules live in
 * lib/workflows/cleanup.ts:
 *   1. plan  2. request-approval / await-approval (24 h) → abort-unapproved | record-rejection
 *   3. fail-stuck-runs, delete-orphaned-chunks, delete-removed-source-documents,
 *      delete-excluded-documents  4. archive-<table>-<day>  5. expire-<table>-archives
 *   6. maintain-database  7. finish
 * onFailure: fail-run.
 */
export const cleanup = inngest.createFunction(
  {
    id: cleanupWorkflow.id,
    triggers: [schedules.cleanup, workflowRequested(cleanupWorkflow.id)],
    concurrency: concurrencyOf(cleanupWorkflow),
    retries: cleanupWorkflow.retries,
    onFailure: ({ event, error, step, runId, attempt }) =>
      runFailure(cleanupWorkflow, event, error, step, { runId, attempt }),
  },
  ({ event, step, runId, attempt }) =>
    runWorkflow(cleanupWorkflow, event, step, { runId, attempt }),
);
