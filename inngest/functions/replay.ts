import { replayWorkflow } from "../../lib/workflows/replay";
import { inngest } from "../client";
import { replayRequested, schedules } from "../events";
import { concurrencyOf, runWorkflow } from "../workflow";

/**
 * replay (nightly, or on `workflow/replay.requested`: a tick, or an operator's range or bundle):
 *   1. export-bundle — yesterday's ledger and repository state into the archive store
 *   2. replay-bundle — re-run in a sandbox, diff, score, store the report
 *   3. check-gate — an alert record below REPLAY_MIN_PASS_RATE
 */
export const replay = inngest.createFunction(
  {
    id: replayWorkflow.id,
    triggers: [schedules.replay, replayRequested],
    concurrency: concurrencyOf(replayWorkflow),
    retries: replayWorkflow.retries,
  },
  ({ event, step }) => runWorkflow(replayWorkflow, event, step),
);
