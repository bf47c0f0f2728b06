import { planScheduledSyncs } from "../../lib/pipeline/schedule";
import { inngest } from "../client";
import { schedules, syncRequested } from "../events";
import { deps } from "../policy";

/**
 * schedule-syncs (every 6 hours): reconcile every active source.
 *   1. plan-syncs — queued runs for sources not already syncing (lib/pipeline/schedule)
 *   2. request-syncs — one `source/sync.requested` each, staggered by 30 s
 */
export const scheduleSyncs = inngest.createFunction(
  { id: "schedule-syncs", triggers: [schedules.syncAll], concurrency: [{ limit: 1 }] },
  async ({ event, step }) => {
    const plan = await step.run("plan-syncs", async () => {
      const tick = new Date(event.ts ?? Date.now());
      tick.setUTCSeconds(0, 0);
      return planScheduledSyncs((await deps()).db, tick);
    });
    if (plan.scheduled.length > 0) {
      await step.sendEvent(
        "request-syncs",
        plan.scheduled.map((s) =>
          syncRequested.create(
            {
              sourceId: s.sourceId,
              mode: "incremental",
              trigger: "schedule",
              requestedBy: "scheduler",
              dedupeKey: s.event.id,
            },
            { id: s.event.id, ts: s.startAt },
          ),
        ),
      );
    }
    return { scheduled: plan.scheduled.length, skipped: plan.skipped };
  },
);
