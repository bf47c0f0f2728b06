import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET } from "../../app/api/metrics/route";
import { sources, syncRuns } from "../../db/schema";
import { renderMetrics, resetMetricsCache } from "../../lib/metrics/registry";
import { measure } from "../../lib/monitoring/monitor";
import { monitorIntervalMs, recordSample } from "../../lib/monitoring/series";
import { setRuntime } from "../../lib/runtime";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

const TOKEN = "metrics-source-token-0123456789abcdef";

/**
 * GET /api/metrics serves the monitor workflow's latest stored tick while it is fresh (at most
 * one monitor interval old, plus a minute's grace) and computes the figures live only when it is stale; concurrent
 * scrapes share one refresh. ballast_figures_age_seconds says which source a scrape got.
 */
describe("/api/metrics figures: stored tick when fresh, computed when stale", () => {
  let rt: TestRuntime;
  let sourceId: string;

  const scrape = async () => {
    const response = await GET(
      new Request("http://localhost/api/metrics", {
        headers: { authorization: `Bearer ${TOKEN}` },
      }),
    );
    expect(response.status).toBe(200);
    return response.text();
  };
  const value = (body: string, series: string): number | undefined => {
    const line = body.split("\n").find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  const addRun = (key: string, status: "succeeded" | "failed") =>
    rt.db.insert(syncRuns).values({
      sourceId,
      dedupeKey: key,
      trigger: "cli",
      requestedMode: "full",
      status,
      planned: 10,
      processed: 10,
      startedAt: new Date(Date.now() - 30_000),
      finishedAt: new Date(Date.now() - 20_000),
    });

  beforeAll(async () => {
    rt = await createTestRuntime({ METRICS_TOKEN: TOKEN });
    setRuntime(rt);
    const [source] = await rt.db
      .insert(sources)
      .values({ name: "figures-repo", kind: "git", location: "/tmp/nowhere" })
      .returning();
    sourceId = source?.id ?? "";
    await addRun("f-1", "succeeded");
  });
  afterAll(async () => {
    setRuntime(undefined);
    await rt.close();
  });

  it("the monitor's interval is its schedule's (*/5: five minutes)", () => {
    expect(monitorIntervalMs()).toBe(5 * 60_000);
  });

  it("serves the latest tick while it is fresh, with its age, and not what the database says now", async () => {
    const tick = new Date(Date.now() - 90_000);
    tick.setUTCSeconds(0, 0);
    const deps = { db: rt.db, redis: rt.redis, breakers: rt.breakers, config: rt.config };
    await measure(deps, tick);
    await recordSample(rt.db, "replay_pass_rate", 0.97, { at: new Date(tick.getTime() - 60_000) });
    // After the tick: two more runs the live figures would count.
    await addRun("f-2", "succeeded");
    await addRun("f-3", "failed");

    resetMetricsCache();
    const body = await scrape();
    expect(value(body, 'ballast_sync_runs{status="succeeded"}')).toBe(1);
    expect(value(body, 'ballast_sync_runs{status="failed"}')).toBe(0);
    expect(value(body, "ballast_replay_pass_rate")).toBe(0.97);
    expect(value(body, "ballast_redis_up")).toBe(1);
    const age = value(body, 'ballast_figures_age_seconds{source="series"}') ?? -1;
    expect(age).toBeGreaterThanOrEqual((Date.now() - tick.getTime()) / 1000 - 5);
    expect(age).toBeLessThanOrEqual(monitorIntervalMs() / 1000);
    expect(body).not.toContain('ballast_figures_age_seconds{source="computed"}');
    const refreshes = value(body, 'ballast_figures_refreshes_total{source="series"}') ?? 0;
    expect(refreshes).toBeGreaterThan(0);

    // The tick cannot change before the next is due: 20 s later (past the 10 s cache) this
    // instance serves it again without reading the database.
    const later = await renderMetrics(
      { db: rt.db, redis: rt.redis, breakers: rt.breakers, monitoring: rt.config.monitoring },
      Date.now() + 20_000,
    );
    expect(value(later.body, 'ballast_sync_runs{status="succeeded"}')).toBe(1);
    expect(value(later.body, 'ballast_figures_refreshes_total{source="series"}')).toBe(refreshes);
  });

  it("recomputes live when the latest tick is older than one interval, once for concurrent scrapes", async () => {
    await rt.db.execute(
      sql`update metric_samples set at = at - ${`${monitorIntervalMs() + 120_000} milliseconds`}::interval`,
    );
    resetMetricsCache();
    const before = value(await scrape(), 'ballast_figures_refreshes_total{source="computed"}');
    resetMetricsCache();
    const bodies = await Promise.all(Array.from({ length: 6 }, () => scrape()));
    for (const body of bodies) {
      expect(value(body, 'ballast_sync_runs{status="succeeded"}')).toBe(2);
      expect(value(body, 'ballast_sync_runs{status="failed"}')).toBe(1);
      expect(value(body, 'ballast_figures_age_seconds{source="computed"}')).toBeLessThan(5);
      expect(body).not.toContain('ballast_figures_age_seconds{source="series"}');
    }
    const after = bodies.map((b) => value(b, 'ballast_figures_refreshes_total{source="computed"}'));
    // Six scrapes at once, one computation.
    expect(Math.max(...after.map((n) => n ?? 0))).toBe((before ?? 0) + 1);
  });
});
