import { Cron } from "croner";
import { and, asc, eq, gte, type SQL, sql } from "drizzle-orm";
import { type Database, rowsOf } from "../../db/client";
import { metricSamples } from "../../db/schema";
import { SCHEDULES } from "../workflows/events";
import { type Figure, labelKey, VECTOR_COUNT_MAX_AGE_MS } from "./figures";
import { pruneSimulatedCalls } from "./simulated-calls";

/** Raw samples are kept this long, then rolled up to hourly rows. */
export const RAW_RETENTION_MS = 48 * 3600_000;
/** Every sample (raw or hourly) is deleted after this long. */
export const SERIES_RETENTION_MS = 30 * 24 * 3600_000;

/** Figures that other workflows record into the series themselves; the monitor reads, not re-stores, them. */
export const RECORDED_FIGURES = new Set(["replay_pass_rate"]);

const NAME = /^[a-z][a-z0-9_]{0,80}$/;

/** Stores one tick's figures as raw samples. Returns how many rows were written. */
export async function storeSamples(db: Database, figures: Figure[], at: Date): Promise<number> {
  const rows = figures
    .filter((f) => !f.reused && !RECORDED_FIGURES.has(f.name) && Number.isFinite(f.value))
    .map((f) => ({ name: f.name, labels: labelKey(f.labels), at, value: f.value }));
  for (let i = 0; i < rows.length; i += 500)
    await db.insert(metricSamples).values(rows.slice(i, i + 500));
  return rows.length;
}

/**
 * Records a figure another workflow measured (the replay workflow's pass rate), so the
 * monitor's rules and the console's charts see it. Name: lower-case snake case.
 */
export async function recordSample(
  db: Database,
  name: string,
  value: number,
  options: { labels?: Record<string, string>; at?: Date } = {},
): Promise<void> {
  if (!NAME.test(name)) throw new Error(`figure name ${JSON.stringify(name)} is not snake_case`);
  if (!Number.isFinite(value)) throw new Error(`figure ${name}: value must be a finite number`);
  await db.insert(metricSamples).values({
    name,
    labels: labelKey(options.labels ?? {}),
    at: options.at ?? new Date(),
    value,
  });
}

/**
 * Rolls raw samples older than 48 hours into hourly rows (mean, min, max, sample count) and
 * deletes them; deletes everything older than 30 days, and the calls log-only integrations
 * recorded (simulated_calls) after as long. Safe to repeat: an hour rolled up in two passes
 * merges into one row.
 */
export async function maintainSeries(
  db: Database,
  now: Date,
): Promise<{ rolledUp: number; pruned: number; simulatedCallsPruned: number }> {
  const rawBefore = new Date(now.getTime() - RAW_RETENTION_MS).toISOString();
  const keepAfter = new Date(now.getTime() - SERIES_RETENTION_MS).toISOString();
  return db.transaction(async (tx) => {
    const moved = rowsOf<{ n: number }>(
      await tx.execute(sql`
        with old as (
          delete from metric_samples
          where resolution = 'raw' and at < ${rawBefore}::timestamptz
          returning name, labels, at, value
        ), hourly as (
          insert into metric_samples (name, labels, at, value, resolution, min, max, samples)
          select name, labels, date_trunc('hour', at), avg(value), 'hour', min(value), max(value), count(*)::int
          from old group by name, labels, date_trunc('hour', at)
          on conflict (name, labels, at) where resolution = 'hour' do update set
            value = (metric_samples.value * metric_samples.samples + excluded.value * excluded.samples)
                    / (metric_samples.samples + excluded.samples),
            min = least(metric_samples.min, excluded.min),
            max = greatest(metric_samples.max, excluded.max),
            samples = metric_samples.samples + excluded.samples
          returning 1
        )
        select (select count(*) from old)::int as n`),
    );
    const pruned = rowsOf<{ n: number }>(
      await tx.execute(sql`
        with gone as (delete from metric_samples where at < ${keepAfter}::timestamptz returning 1)
        select count(*)::int as n from gone`),
    );
    const simulatedCallsPruned = await pruneSimulatedCalls(tx as unknown as Database, now);
    return {
      rolledUp: Number(moved[0]?.n ?? 0),
      pruned: Number(pruned[0]?.n ?? 0),
      simulatedCallsPruned,
    };
  });
}

export interface SeriesPoint {
  at: string;
  labels: string;
  value: number;
  resolution: "raw" | "hour";
}

/** One figure's points since `since` (raw and hourly), oldest first, for charts. */
export async function readSeries(
  db: Database,
  name: string,
  since: Date,
  limit = 5000,
): Promise<SeriesPoint[]> {
  const rows = await db
    .select()
    .from(metricSamples)
    .where(and(eq(metricSamples.name, name), gte(metricSamples.at, since)))
    .orderBy(asc(metricSamples.at))
    .limit(limit);
  return rows.map((r) => ({
    at: r.at.toISOString(),
    labels: r.labels,
    value: r.value,
    resolution: r.resolution,
  }));
}

let monitorInterval: number | undefined;

/** The monitor workflow's interval (SCHEDULES.monitor): the shortest gap between its next runs. */
export function monitorIntervalMs(): number {
  if (monitorInterval === undefined) {
    const runs = new Cron(SCHEDULES.monitor, { paused: true, timezone: "UTC" }).nextRuns(4);
    const gaps = runs.slice(1).map((run, i) => run.getTime() - (runs[i]?.getTime() ?? 0));
    monitorInterval = Math.min(...gaps.filter((g) => g > 0), 3600_000);
  }
  return monitorInterval;
}

/** Always stored by every monitor tick: the latest of it dates the latest tick. */
const TICK_MARKER = "documents_per_minute";
/** Ticks dated this far ahead of the reader's clock still count (clocks of instances differ). */
const CLOCK_SKEW_MS = 60_000;

/**
 * The statement behind latestStoredFigures (exported so the console profile can EXPLAIN the very
 * statement the scrape runs).
 */
export function latestStoredFiguresQuery(now: Date, maxAgeMs: number): SQL {
  const since = new Date(now.getTime() - maxAgeMs).toISOString();
  const until = new Date(now.getTime() + CLOCK_SKEW_MS).toISOString();
  const vectorsSince = new Date(now.getTime() - VECTOR_COUNT_MAX_AGE_MS).toISOString();
  const daySince = new Date(now.getTime() - 24 * 3600_000).toISOString();
  return sql`
      with tick as (
        select max(at) as at from metric_samples
        where name = ${TICK_MARKER} and resolution = 'raw'
          and at >= ${since}::timestamptz and at <= ${until}::timestamptz
      ), vectors as (
        select max(at) as at from metric_samples
        where name = 'vector_count' and resolution = 'raw'
          and at > ${vectorsSince}::timestamptz and at <= ${until}::timestamptz
      )
      select name, labels, value, extract(epoch from (select at from tick)) as tick
        from metric_samples
        where resolution = 'raw' and at = (select at from tick)
      union all
      select name, labels, value, null from metric_samples
        where name = 'vector_count' and resolution = 'raw'
          and at = (select at from vectors) and at <> (select at from tick)
      union all
      (select name, labels, value, null from metric_samples
        where name = 'replay_pass_rate' and resolution = 'raw'
          and at > ${daySince}::timestamptz and at <= ${until}::timestamptz
        order by at desc limit 1)`;
}

/**
 * The figures of the monitor's latest tick, when it is at most `maxAgeMs` old: what it stored,
 * plus what it reused instead of storing (the hourly vector count) and what other workflows
 * record (the replay pass rate) — the same set computeFigures returns, read with three index
 * lookups instead of a scan of runs and chunks. Undefined when no tick is that recent.
 */
export async function latestStoredFigures(
  db: Database,
  now: Date,
  maxAgeMs: number,
): Promise<{ at: Date; figures: Figure[] } | undefined> {
  const rows = rowsOf<{ name: string; labels: string; value: number; tick: unknown }>(
    await db.execute(latestStoredFiguresQuery(now, maxAgeMs)),
  );
  const tick = rows.find((r) => r.tick !== null && r.tick !== undefined)?.tick;
  if (tick === undefined || tick === null) return undefined;
  return {
    at: new Date(Number(tick) * 1000),
    figures: rows.map((r) => ({
      name: r.name,
      labels: parseLabelKey(r.labels),
      value: Number(r.value),
    })),
  };
}

/** The inverse of labelKey (label values never hold commas: they are bounded names). */
export function parseLabelKey(key: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (key === "") return labels;
  for (const pair of key.split(",")) {
    const eq = pair.indexOf("=");
    if (eq > 0) labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}
