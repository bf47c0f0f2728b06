import { deliver, evaluate, type MonitorDeps, measure, plan } from "../monitoring/monitor";
import { maintainSeries } from "../monitoring/series";
import type { PipelineDeps } from "../pipeline/deps";
import { defineWorkflow, tickOf } from "./define";
import { SCHEDULES, tickData } from "./events";

export function monitorDepsOf(deps: PipelineDeps): MonitorDeps {
  if (!deps.config) throw new Error("the monitor needs the configuration in its dependencies");
  if (!deps.breakers) throw new Error("the monitor needs the circuit breakers in its dependencies");
  return { db: deps.db, redis: deps.redis, breakers: deps.breakers, config: deps.config };
}

/**
 * monitor (every 5 minutes, or on request):
 *   1. measure — compute the figures from the database and Redis; store them in the series
 *   2. evaluate-rules — raise or resolve alert records per the rule table
 *   3. plan-notifications — one outbox row per alert record and channel, through the guardrails
 *   4. deliver — send what is due (log-only records; a channel down keeps its rows pending)
 *   5. maintain-series — roll raw samples older than 48 h up hourly, drop those over 30 days
 */
export const monitorWorkflow = defineWorkflow({
  id: "monitor",
  triggers: [{ cron: SCHEDULES.monitor }],
  schema: tickData,
  concurrency: [{ limit: 1 }],
  retries: 2,
  async handler({ event, step, env, correlationId }) {
    const tick = tickOf(event.data, event.ts);
    const deps = async () => monitorDepsOf(await env.deps());
    const measured = await step.run("measure", async () => measure(await deps(), tick));
    const evaluation = await step.run("evaluate-rules", async () =>
      evaluate(await deps(), measured.figures, tick, correlationId),
    );
    const planned = await step.run("plan-notifications", async () => plan(await deps(), tick));
    const delivered = await step.run("deliver", async () => deliver(await deps(), tick));
    const series = await step.run("maintain-series", async () =>
      maintainSeries((await deps()).db, tick),
    );
    return {
      tick: tick.toISOString(),
      figures: measured.figures.length,
      fired: evaluation.fired,
      resolved: evaluation.resolved,
      planned,
      delivered,
      series,
    };
  },
});
