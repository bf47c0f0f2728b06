import { defineWorkflow, tickOf } from "./define";
import { replayRequestedData, SCHEDULES } from "./events";

/**
 * replay (nightly at 03:30 UTC, or on request): the release gate on real traffic.
 *   1. export-bundle — the 24 hours before the tick, from the ledger, into the archive store
 *   2. replay-bundle — re-run it through this code in a sandbox, diff, score, store the report
 *   3. check-gate — below REPLAY_MIN_PASS_RATE an alert record; at or above it, resolve it
 *
 * On an operator's request with a range or a bundle (`POST /api/admin/replays`, the console;
 * lib/replay/request.ts): export-bundle exports that range (or checks that bundle), replay-bundle
 * scores it against the request's minimum pass rate, and no alert is raised (the scorecard
 * shows the gate). Both are keyed by the request's correlation id.
 *
 * lib/replay is loaded when the workflow runs: its runner drives the sync workflows through
 * the inline executor, which imports the workflow list this workflow belongs to.
 */
const nightly = () => import("../replay/nightly");

export const replayWorkflow = defineWorkflow({
  id: "replay",
  triggers: [{ cron: SCHEDULES.replay }],
  schema: replayRequestedData,
  concurrency: [{ limit: 1 }],
  retries: 1,
  async handler({ event, step, env, correlationId }) {
    const data = event.data;
    if (!("cron" in data) && (data.bundle || data.since || data.until)) {
      const request = {
        since: data.since,
        until: data.until,
        bundle: data.bundle,
        source: data.source,
        minPassRate: data.minPassRate,
      };
      const requested = await step.run("export-bundle", async () =>
        (await nightly()).exportRequestedBundle(await env.deps(), request, correlationId),
      );
      const outcome = await step.run("replay-bundle", async () =>
        (await nightly()).replayRequestedBundle(await env.deps(), requested, {
          correlationId,
          minPassRate: data.minPassRate,
        }),
      );
      return { requested: true, bundle: requested.key, ...outcome, alert: "none" as const };
    }
    const tick = tickOf(data, event.ts);
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
