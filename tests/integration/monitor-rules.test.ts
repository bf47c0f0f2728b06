import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../../db/client";
import { metricSamples, sources, syncRuns } from "../../db/schema";
import { listAlerts } from "../../lib/alerts/records";
import { maintainSeries } from "../../lib/monitoring/series";
import { enqueueEvents } from "../../lib/outbox/outbox";
import { createRedisStore } from "../../lib/redis";
import { requestedEventName } from "../../lib/workflows/events";
import { runInline } from "../../lib/workflows/inline";
import { monitorWorkflow } from "../../lib/workflows/monitor";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

const MIN = 60_000;

async function tick(rt: TestRuntime, at: Date) {
  const outcome = await runInline(
    monitorWorkflow,
    {
      id: `t-${at.toISOString()}`,
      name: requestedEventName("monitor"),
      data: { at: at.toISOString() },
    },
    { deps: async () => rt.deps, log: rt.log, workflows: [monitorWorkflow] },
  );
  if (!outcome.ok) throw new Error(JSON.stringify(outcome));
  return outcome.result as { fired: string[]; resolved: string[] };
}

/** The rules against real figures: runs, the outbox, an unreachable Redis; and the series' upkeep. */
describe("monitor rules on real figures", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime(
      {},
      {
        // A real Upstash client against a port nothing listens on: Redis is unreachable.
        redis: createRedisStore({
          backend: "upstash",
          url: "http://127.0.0.1:9",
          token: "t",
          env: "test",
        }),
      },
    );
  });
  afterAll(async () => {
    await rt.close();
  });

  it("fires on error rate, a slow sync, an aging outbox at once, and on Redis only after its for-duration", async () => {
    const t0 = new Date();
    t0.setUTCSeconds(0, 0);
    const [source] = await rt.db
      .insert(sources)
      .values({ name: "docs site", kind: "git", location: "/tmp/x" })
      .returning();
    await rt.db.insert(syncRuns).values({
      sourceId: source?.id ?? "",
      dedupeKey: "slow-1",
      trigger: "schedule",
      requestedMode: "full",
      status: "completed_with_errors",
      planned: 1000,
      processed: 90,
      failed: 10,
      startedAt: new Date(t0.getTime() - 11 * MIN),
      finishedAt: new Date(t0.getTime() - MIN),
    });
    await enqueueEvents(rt.db, [{ id: "old-1", name: "source/sync.requested", data: {} }]);
    await rt.db.execute(
      sql`update outbox_events set created_at = now() - interval '3 hours' where id = 'old-1'`,
    );

    const first = await tick(rt, t0);
    expect(first.fired.sort()).toEqual(["error-rate", "outbox-aging", "sync-slo:docs_site"]);
    const second = await tick(rt, new Date(t0.getTime() + 5 * MIN));
    expect(second.fired).toEqual(["redis-unreachable"]);
    const firing = await listAlerts(rt.db, { status: "firing" });
    const slo = firing.find((a) => a.key === "sync-slo:docs_site");
    expect(slo?.summary).toMatch(/A sync slower than its SLO .*\(source docs site\): 200\.0 %/);
    expect(firing.find((a) => a.key === "error-rate")?.summary).toMatch(
      /10\.0 %, threshold > 1\.00 %/,
    );
    expect(firing.find((a) => a.key === "redis-unreachable")?.severity).toBe("critical");
  });

  it("rolls raw samples older than 48 h up hourly, prunes those over 30 days, and repeats safely", async () => {
    const now = new Date("2026-12-02T12:00:00Z");
    const hour = new Date("2026-11-28T09:00:00Z");
    await rt.db.insert(metricSamples).values([
      { name: "rollup_test", labels: "", at: new Date(hour.getTime() + 5 * MIN), value: 1 },
      { name: "rollup_test", labels: "", at: new Date(hour.getTime() + 10 * MIN), value: 3 },
      { name: "rollup_test", labels: "", at: new Date(hour.getTime() + 55 * MIN), value: 8 },
      { name: "rollup_test", labels: "", at: new Date("2026-10-01T00:00:00Z"), value: 5 },
      { name: "rollup_test", labels: "", at: new Date("2026-12-02T11:55:00Z"), value: 9 },
    ]);
    expect(await maintainSeries(rt.db, now)).toMatchObject({ pruned: 1 });
    await rt.db.insert(metricSamples).values({
      name: "rollup_test",
      labels: "",
      at: new Date(hour.getTime() + 30 * MIN),
      value: 4,
    });
    await maintainSeries(rt.db, now);
    const rows = rowsOf<{
      resolution: string;
      at: Date | string;
      value: number;
      min: number;
      max: number;
      samples: number;
    }>(
      await rt.db.execute(
        sql`select resolution, at, value, min, max, samples from metric_samples where name = 'rollup_test' order by at`,
      ),
    );
    expect(
      rows.map((r) => [
        r.resolution,
        new Date(r.at).toISOString(),
        r.value,
        r.min,
        r.max,
        r.samples,
      ]),
    ).toEqual([
      ["hour", "2026-11-28T09:00:00.000Z", 4, 1, 8, 4],
      ["raw", "2026-12-02T11:55:00.000Z", 9, null, null, 1],
    ]);
  });
});
