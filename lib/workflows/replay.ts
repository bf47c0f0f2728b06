import { defineWorkflow, tickOf } from "./define";
import { SCHEDULES, tickData } from "./events";

/**
 * replay (nightly at 03:30 UTC, or on request): the release gate on real traffic.
 *   1. export-bundle — the 24 hours before the tick, from the ledger, into the archive store
 *   2. replay-bundle — re-run it through this code in a sandbox, diff, score, store the report
 *   3. check-gate — below REPLAY_MIN_PASS_RATE an alert record; at or above it, resolve it
 *
 * lib/replay is loaded when the workflow runs: its runner drives the sync workflows through
 * the inline executor, which imports the workflow list this workflow belongs to.
 */
const nightly = () => import("../replay/nightly");

export const replayWorkflow = defineWorkflow({
  id: "replay",
  triggers: [{ cron: SCHEDULES.replay }],
  schema: tickData,
  concurrency: [{ limit: 1 }],
  retries: 1,
  async handler({ event, step, env, correlationId }) {
    const tick = tickOf(event.data, event.ts);
    const daily = await step.run("export-bundle", async () =>
      (await nightly()).exportDailyBundle(await env.deps(), tick),
    );
    const outcome = await step.run("replay-bundle", async () =>
      (await nightly()).replayDailyBundle(await env.deps(), daily, { tick, correlationId }),
    );
    const alert = await step.run("check-gate", async () =>
      (await nightly()).alertOnGate(await env.deps(), outcome, correlationId),
    );
    return { tick: tick.toISOString(), bundle: daily.key, ...outcome, alert };
  },
});
