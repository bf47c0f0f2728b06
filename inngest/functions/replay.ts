import { replayWorkflow } from "../../lib/workflows/replay";
import { inngest } from "../client";
import { schedules, workflowRequested } from "../events";
import { concurrencyOf, runWorkflow } from "../workflow";

/**
 * replay (nightly, or on `workflow/replay.requested`):
 *   1. export-bundle — yesterday's ledger and repository state into the archive store
 *   2. replay-bundle — re-run in a sandbox, diff, score, store the report
 *   3. check-gate — an alert record below REPLAY_MIN_PASS_RATE
 */
export const replay = inngest.createFunction(
  {
    id: replayWorkflow.id,
    triggers: [schedules.replay, workflowRequested(replayWorkflow.id)],
    concurrency: concurrencyOf(replayWorkflow),
    retries: replayWorkflow.retries,
  },
  ({ event, step }) => runWorkflow(replayWorkflow, event, step),
);
