import { sql } from "drizzle-orm";
import { type Database, rowsOf } from "../../db/client";
import { RUN_STATUSES } from "../../db/schema";
import type { MonitoringConfig } from "../config";
import type { RedisStore } from "../redis";
import type { BreakerRegistry } from "../resilience/breaker";

/**
 * The figures the monitor computes, from the database and Redis: what every instance shares,
 * so a serverless deployment (no shared memory) reports the same numbers from any instance.
 * Labels are bounded: statuses, providers, embedding spaces, source names, channels — never
 * paths, request ids or document ids.
 */
export interface Figure {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** Read back from the series (a slow figure computed by an earlier tick): not stored again. */
  reused?: boolean;
}

export interface FigureOptions {
  monitoring: Pick<MonitoringConfig, "dailyBudgetUsd" | "syncSloMsPer1000Docs">;
  redis?: RedisStore;
  /** The dependencies' circuit breakers (their state lives in Redis, shared by instances). */
  breakers?: BreakerRegistry;
  now?: Date;
  /**
   * Vector counts scan every chunk (about a second at 100,000 chunks on PGlite): "compute"
   * counts now; "stored" reuses the series' latest count when it is younger than
   * VECTOR_COUNT_MAX_AGE_MS (the monitor recounts hourly) and counts only when there is none.
   */
  vectorCounts?: "compute" | "stored";
}

/** How old a stored vector count may be before the monitor counts again. */
export const VECTOR_COUNT_MAX_AGE_MS = 3600_000;

/** What each figure means (the metric help text and the docs). */
export const FIGURE_HELP: Record<string, string> = {
  sync_runs: "Sync runs started in the last 24 hours, by status",
  sync_runs_active: "Sync runs queued or running now, by status",
  sync_runs_finished:
    "Runs finished in a trailing window (5m, 30m, 1h, 6h, 3d), by outcome (ok, failed): the sync SLO's burn rates",
  documents_finished:
    "Documents attempted by runs finished in a trailing window, by outcome (ok, failed): the error-rate SLO's burn rates",
  documents_per_minute: "Documents processed per minute over the last 15 minutes",
  chunks_embedded_24h: "Chunks embedded in the last 24 hours, by provider",
  tokens_24h: "Embedding tokens in the last 24 hours, by provider",
  cost_usd_today: "Embedding cost today (UTC) in USD, by provider",
  budget_use_ratio: "Today's embedding cost over ALERT_DAILY_BUDGET_USD",
  error_rate_15m: "Failed documents over documents attempted, runs finished in the last 15 minutes",
  errors_24h: "Errors in the last 24 hours, by source and kind (document, run)",
  outbox_depth: "Outbox events not yet sent, by status (pending, dead)",
  outbox_oldest_age_seconds: "Age of the oldest pending outbox event",
  run_queue_depth: "Queued sync runs and pending embedded-runner jobs",
  run_queue_oldest_age_seconds: "Age of the oldest queued run or pending job",
  dlq_depth:
    "Open dead-letter entries (pending and parked), dead outbox events and failed embedded-runner jobs",
  dlq_oldest_age_seconds: "Age of the oldest of those",
  breaker_open: "1 when a breaker is open, by breaker (dependencies and notification channels)",
  breaker_open_seconds: "How long a breaker has been open, by breaker",
  vector_count: "Stored chunk vectors, by embedding space",
  redis_up: "1 when Redis answered a ping",
  inngest_up: "0 when the latest attempt to send events to the workflow engine failed",
  sync_slo_ratio: "Latest run's duration over its SLO, by source (above 1: slower than the SLO)",
  sync_duration_seconds: "Latest finished run's duration, by source",
  alerts_firing: "Alert records firing, by severity",
  notifications_waiting: "Notifications not yet sent, by status",
  replay_pass_rate: "Latest replay pass rate recorded by the replay workflow",
};

const n = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));

/** Ages in seconds, from epoch-seconds values the database returns. */
function ageSeconds(epoch: unknown, now: Date): number {
  if (epoch === null || epoch === undefined) return 0;
  return Math.max(0, Math.round(now.getTime() / 1000 - Number(epoch)));
}

export async function computeFigures(db: Database, options: FigureOptions): Promise<Figure[]> {
  const now = options.now ?? new Date();
  const at = now.toISOString();
  const figures: Figure[] = [];
  const add = (name: string, value: number, labels: Record<string, string> = {}) =>
    figures.push({ name, labels, value });

  // Runs: by status (24 h), throughput and errors (15 min), work by provider (24 h / today).
  const runRows = rowsOf<{
    status: string;
    recent: number;
    active: number;
    processed15: number;
    failed15: number;
  }>(
    await db.execute(sql`
      select status,
        count(*) filter (where queued_at > ${at}::timestamptz - interval '24 hours')::int as recent,
        count(*) filter (where status in ('queued', 'running'))::int as active,
        coalesce(sum(processed) filter (where finished_at > ${at}::timestamptz - interval '15 minutes'), 0)::int as "processed15",
        coalesce(sum(failed) filter (where finished_at > ${at}::timestamptz - interval '15 minutes'), 0)::int as "failed15"
      from sync_runs
      where queued_at > ${at}::timestamptz - interval '24 hours' or status in ('queued', 'running')
        or finished_at > ${at}::timestamptz - interval '15 minutes'
      group by status`),
  );
  let processed15 = 0;
  let failed15 = 0;
  for (const status of RUN_STATUSES) {
    const row = runRows.find((r) => r.status === status);
    add("sync_runs", n(row?.recent), { status });
    if (status === "queued" || status === "running")
      add("sync_runs_active", n(row?.active), { status });
    processed15 += n(row?.processed15);
    failed15 += n(row?.failed15);
  }
  add("documents_per_minute", processed15 / 15);
  add("error_rate_15m", processed15 + failed15 === 0 ? 0 : failed15 / (processed15 + failed15));

  const windows = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select w.name,
        count(r.*) filter (where r.status in ('succeeded', 'completed_with_errors'))::int as runs_ok,
        count(r.*) filter (where r.status = 'failed')::int as runs_failed,
        coalesce(sum(r.processed), 0)::int as docs_ok,
        coalesce(sum(r.failed), 0)::int as docs_failed
      from (values ('5m', interval '5 minutes'), ('30m', interval '30 minutes'), ('1h', interval '1 hour'),
                   ('6h', interval '6 hours'), ('3d', interval '3 days')) w(name, span)
      left join (select status, processed, failed, finished_at from sync_runs
                 where finished_at > ${at}::timestamptz - interval '3 days') r
        on r.finished_at > ${at}::timestamptz - w.span and r.finished_at <= ${at}::timestamptz
      group by w.name`),
  );
  for (const w of windows) {
    const window = String(w.name);
    add("sync_runs_finished", n(w.runs_ok), { window, outcome: "ok" });
    add("sync_runs_finished", n(w.runs_failed), { window, outcome: "failed" });
    add("documents_finished", n(w.docs_ok), { window, outcome: "ok" });
    add("documents_finished", n(w.docs_failed), { window, outcome: "failed" });
  }

  const work = rowsOf<{ provider: string; chunks: number; tokens: number; cost: number }>(
    await db.execute(sql`
      select split_part(embedding_space, ':', 1) as provider,
        coalesce(sum(chunks_embedded), 0)::bigint as chunks,
        coalesce(sum(tokens), 0)::bigint as tokens,
        coalesce(sum(cost_usd) filter (where queued_at >= date_trunc('day', ${at}::timestamptz at time zone 'UTC') at time zone 'UTC'), 0)::float8 as cost
      from sync_runs
      where queued_at > ${at}::timestamptz - interval '24 hours' and embedding_space is not null
      group by 1`),
  );
  let costToday = 0;
  for (const row of work) {
    add("chunks_embedded_24h", n(row.chunks), { provider: row.provider });
    add("tokens_24h", n(row.tokens), { provider: row.provider });
    add("cost_usd_today", n(row.cost), { provider: row.provider });
    costToday += n(row.cost);
  }
  if (options.monitoring.dailyBudgetUsd !== undefined && options.monitoring.dailyBudgetUsd > 0)
    add("budget_use_ratio", costToday / options.monitoring.dailyBudgetUsd);

  const errors = rowsOf<{ source: string; kind: string; count: number }>(
    await db.execute(sql`
      select s.name as source, e.kind, e.count::int as count from (
        select source_id, 'document' as kind, count(*) as count from dead_letters
          where kind = 'document' and last_seen_at > ${at}::timestamptz - interval '24 hours' group by source_id
        union all
        select source_id, 'run' as kind, count(*) as count from sync_runs
          where status = 'failed' and finished_at > ${at}::timestamptz - interval '24 hours' group by source_id
      ) e join sources s on s.id = e.source_id`),
  );
  for (const row of errors) add("errors_24h", n(row.count), { source: row.source, kind: row.kind });

  // Queues: the outbox, the run queue, dead letters.
  const [queues] = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select
        (select count(*) from outbox_events where status = 'pending')::int as outbox_pending,
        (select count(*) from outbox_events where status = 'dead')::int as outbox_dead,
        (select extract(epoch from min(created_at)) from outbox_events where status = 'pending') as outbox_oldest,
        (select count(*) from outbox_events where status = 'pending' and attempts > 0
           and next_attempt_at > ${at}::timestamptz - interval '1 hour') ::int as outbox_failing,
        (select count(*) from sync_runs where status = 'queued')::int as runs_queued,
        (select extract(epoch from min(queued_at)) from sync_runs where status = 'queued') as runs_oldest,
        (select count(*) from workflow_jobs where status = 'pending' and run_after <= ${at}::timestamptz)::int as jobs_pending,
        (select extract(epoch from min(run_after)) from workflow_jobs where status = 'pending' and run_after <= ${at}::timestamptz) as jobs_oldest,
        (select count(*) from workflow_jobs where status = 'failed')::int as jobs_failed,
        (select extract(epoch from min(created_at)) from outbox_events where status = 'dead') as dead_oldest,
        (select extract(epoch from min(finished_at)) from workflow_jobs where status = 'failed') as failed_oldest,
        (select count(*) from dead_letters where status in ('pending', 'parked'))::int as letters_open,
        (select extract(epoch from min(first_seen_at)) from dead_letters where status in ('pending', 'parked')) as letters_oldest
    `),
  );
  const q = queues ?? {};
  add("outbox_depth", n(q.outbox_pending), { status: "pending" });
  add("outbox_depth", n(q.outbox_dead), { status: "dead" });
  add("outbox_oldest_age_seconds", ageSeconds(q.outbox_oldest, now));
  add("inngest_up", n(q.outbox_failing) > 0 ? 0 : 1);
  add("run_queue_depth", n(q.runs_queued) + n(q.jobs_pending));
  add(
    "run_queue_oldest_age_seconds",
    Math.max(ageSeconds(q.runs_oldest, now), ageSeconds(q.jobs_oldest, now)),
  );
  add("dlq_depth", n(q.letters_open) + n(q.outbox_dead) + n(q.jobs_failed));
  const deadAges = [q.letters_oldest, q.dead_oldest, q.failed_oldest].filter(
    (v) => v !== null && v !== undefined,
  );
  add("dlq_oldest_age_seconds", Math.max(0, ...deadAges.map((v) => ageSeconds(v, now))));

  // Breakers (lib/resilience/breaker.ts, state in Redis): the external dependencies' and the
  // notification channels' (`alerts.<id>`).
  if (options.breakers) {
    const snapshots = await options.breakers.snapshots().catch(() => []);
    for (const b of snapshots) {
      const open = b.state !== "closed";
      add("breaker_open", open ? 1 : 0, { breaker: b.name });
      add(
        "breaker_open_seconds",
        open && b.openedAt ? ageSeconds(Date.parse(b.openedAt) / 1000, now) : 0,
        {
          breaker: b.name,
        },
      );
    }
  }
  // Vectors per embedding space: counted, or the series' recent count.
  const stored =
    options.vectorCounts === "stored"
      ? rowsOf<{ labels: string; value: number }>(
          await db.execute(sql`select labels, value from metric_samples
            where name = 'vector_count' and resolution = 'raw'
              and at = (select max(at) from metric_samples where name = 'vector_count' and resolution = 'raw'
                        and at > ${at}::timestamptz - ${`${VECTOR_COUNT_MAX_AGE_MS} milliseconds`}::interval)`),
        )
      : [];
  if (stored.length > 0) {
    for (const row of stored)
      figures.push({
        name: "vector_count",
        labels: { space: row.labels.replace(/^space=/, "") },
        value: n(row.value),
        reused: true,
      });
  } else {
    const spaces = rowsOf<{ space: string; count: number }>(
      await db.execute(
        sql`select embedding_space as space, count(*)::int as count from chunks group by 1`,
      ),
    );
    for (const s of spaces) add("vector_count", n(s.count), { space: s.space });
  }

  // Each source's latest run against its SLO (running ones count their time so far).
  const slo = options.monitoring.syncSloMsPer1000Docs;
  const latest = rowsOf<{ source: string; planned: number; seconds: number; finished: boolean }>(
    await db.execute(sql`
      select s.name as source, r.planned,
        extract(epoch from (coalesce(r.finished_at, ${at}::timestamptz) - r.started_at))::float8 as seconds,
        r.finished_at is not null as finished
      from sources s cross join lateral (
        select planned, started_at, finished_at from sync_runs
        where source_id = s.id and started_at is not null and status <> 'cancelled'
        order by queued_at desc limit 1) r`),
  );
  for (const run of latest) {
    const budgetSeconds = Math.max(slo, (n(run.planned) / 1000) * slo) / 1000;
    add("sync_slo_ratio", n(run.seconds) / budgetSeconds, { source: run.source });
    if (run.finished) add("sync_duration_seconds", n(run.seconds), { source: run.source });
  }

  // Alerts and notifications.
  const alertRows = rowsOf<{ severity: string; count: number }>(
    await db.execute(
      sql`select severity, count(*)::int as count from alerts where status = 'firing' group by 1`,
    ),
  );
  for (const severity of ["info", "warning", "critical"])
    add("alerts_firing", n(alertRows.find((r) => r.severity === severity)?.count), { severity });
  const waiting = rowsOf<{ status: string; count: number }>(
    await db.execute(sql`select status, count(*)::int as count from notifications
      where status in ('pending', 'delayed', 'awaiting_approval') group by 1`),
  );
  for (const status of ["pending", "delayed", "awaiting_approval"])
    add("notifications_waiting", n(waiting.find((r) => r.status === status)?.count), { status });

  // Recorded by other workflows into the series: the latest within a day.
  const [replay] = rowsOf<{ value: number }>(
    await db.execute(sql`select value from metric_samples
      where name = 'replay_pass_rate' and resolution = 'raw' and at > ${at}::timestamptz - interval '24 hours'
      order by at desc limit 1`),
  );
  if (replay) add("replay_pass_rate", n(replay.value));

  if (options.redis) add("redis_up", (await redisAnswers(options.redis)) ? 1 : 0);
  return figures;
}

async function redisAnswers(redis: RedisStore): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("timeout")), 2000);
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** `k=v,k=v` with sorted keys: the labels column of the series. */
export function labelKey(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(",");
}
