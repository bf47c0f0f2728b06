import { recordInboundEvent } from "../ledger/pipeline";
import { planScheduledSyncs } from "../pipeline/schedule";
import { defineWorkflow, tickOf } from "./define";
import { SCHEDULES, tickData } from "./events";

/**
 * schedule-syncs (every 6 hours, or on request): reconcile every active source.
 *   1. plan-syncs — queued runs for sources not already syncing (lib/pipeline/schedule); the
 *      tick and what it caused in the parity ledger
 *   2. request-syncs — one `source/sync.requested` each, staggered by 30 s
 */
export const scheduleSyncsWorkflow = defineWorkflow({
  id: "schedule-syncs",
  triggers: [{ cron: SCHEDULES.syncAll }],
  schema: tickData,
  concurrency: [{ limit: 1 }],
  retries: 3,
  async handler({ event, step, env, correlationId }) {
    const tick = tickOf(event.data, event.ts);
    const plan = await step.run("plan-syncs", async () => {
      const deps = await env.deps();
      const planned = await planScheduledSyncs(deps.db, tick, { correlationId });
      // The cron tick in the parity ledger, with what it caused (keyed by the tick).
      await recordInboundEvent(
        deps.db,
        {
          id: `cron:schedule-syncs:${tick.toISOString()}`,
          name: "cron.tick",
          correlationId,
          data: {
            workflow: "schedule-syncs",
            tick: tick.toISOString(),
            runs: planned.scheduled.map((s) => s.runId),
            events: planned.scheduled.map((s) => s.event),
            skipped: planned.skipped,
          },
        },
        deps.ledger,
      );
      return planned;
    });
    if (plan.scheduled.length > 0)
      await step.sendEvents(
        "request-syncs",
        plan.scheduled.map((s) => ({ ...s.event, ts: s.startAt })),
      );
    return { tick: tick.toISOString(), scheduled: plan.scheduled.length, skipped: plan.skipped };
  },
});
