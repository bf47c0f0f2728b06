import { DLQ_DEFAULTS, planRecovery } from "../recovery/dlq";
import { checkRecoveryAlerts, recordFunctionFailure } from "../recovery/recover";
import { defineWorkflow } from "./define";
import { errorRecoveryData, FUNCTION_FAILED, SCHEDULES } from "./events";

/**
 * error-recovery (every 15 minutes, on request, and after any Ballast function failed for
 * good — Inngest's `inngest/function.failed`):
 *   1. record-failure — the failed function's event into the dead-letter queue (and, for a
 *      sync, an alert record); only on a function.failed event
 *   2. plan-recovery — due entries whose dependency's breaker is not open are released, one
 *      recovery each (backoff per entry; after DLQ_MAX_RECOVERIES they are parked)
 *   3. redrive — one sync request per source of released documents, released events again
 *   4. check-alerts — `dlq.depth` over DLQ_ALERT_DEPTH, `sync.failed:<source>` for failed syncs
 * Idempotent: the plan step is memoised and re-drive events carry ids derived from the entries
 * and their recovery count, so a replay re-sends nothing new.
 */
export const errorRecoveryWorkflow = defineWorkflow({
  id: "error-recovery",
  triggers: [{ cron: SCHEDULES.errorRecovery }, { event: FUNCTION_FAILED }],
  schema: errorRecoveryData,
  concurrency: [{ limit: 1 }],
  retries: 3,
  async handler({ event, step, env, correlationId }) {
    const data = event.data;
    const failure =
      "function_id" in data
        ? await step.run("record-failure", async () => {
            const deps = await env.deps();
            return recordFunctionFailure(deps.db, data, {
              appId: deps.appId ?? "ballast",
              settings: deps.dlq ?? DLQ_DEFAULTS,
              secrets: deps.secrets,
              correlationId,
            });
          })
        : null;
    const plan = await step.run("plan-recovery", async () => {
      const deps = await env.deps();
      return planRecovery(deps.db, {
        breakers: deps.breakers,
        settings: deps.dlq ?? DLQ_DEFAULTS,
        correlationId,
      });
    });
    if (plan.events.length > 0) await step.sendEvents("redrive", plan.events);
    const alerts = await step.run("check-alerts", async () => {
      const deps = await env.deps();
      return checkRecoveryAlerts(deps.db, deps.dlq ?? DLQ_DEFAULTS, correlationId);
    });
    return {
      failure,
      redriven: plan.redriven.length,
      parked: plan.parked.length,
      waitingOnBreaker: plan.waitingOnBreaker.length,
      events: plan.events.length,
      depth: alerts.depth,
      dlqAlert: alerts.dlqAlert,
      failedSyncs: alerts.failedSyncs.length,
    };
  },
});
