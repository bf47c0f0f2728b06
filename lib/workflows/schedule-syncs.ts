import { planScheduledSyncs } from "../pipeline/schedule";
import { defineWorkflow, tickOf } from "./define";
import { SCHEDULES, tickData } from "./events";

/**
 * schedule-syncs (every 6 hours, or on request): reconcile every active source.
 *   1. plan-syncs — queued runs for sources not already syncing (lib/pipeline/schedule)
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
    const plan = await step.run("plan-syncs", async () =>
      planScheduledSyncs((await env.deps()).db, tick, { correlationId }),
    );
    if (plan.scheduled.length > 0)
      await step.sendEvents(
        "request-syncs",
        plan.scheduled.map((s) => ({ ...s.event, ts: s.startAt })),
      );
    return { tick: tick.toISOString(), scheduled: plan.scheduled.length, skipped: plan.skipped };
  },
});
