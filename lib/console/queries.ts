import { and, asc, desc, eq, inArray, lt, sql } from "drizzle-orm";
import { type Database, rowsOf } from "../../db/client";
import { type RunStatus, sources, syncRunItems, syncRuns } from "../../db/schema";

/**
 * The console's reads: each a query or two sized for a page (bounded lists, aggregates
 * computed in the database), so pages stay fast with 100,000s of chunks and 10,000s of runs.
 */

export interface ThroughputBucket {
  /** Bucket start, ISO. */
  at: string;
  runs: number;
  failedRuns: number;
  documents: number;
  failedDocuments: number;
  costUsd: number;
}

export type ThroughputRange = "24h" | "30d";

export interface Throughput {
  range: ThroughputRange;
  bucketMinutes: number;
  buckets: ThroughputBucket[];
  totals: {
    runs: number;
    failedRuns: number;
    documents: number;
    failedDocuments: number;
    costUsd: number;
  };
}

/** A range's buckets: 24 hourly or 30 daily ones, the last holding `now`; start and end in ms. */
function rangeWindow(range: ThroughputRange, now: Date) {
  const bucketMs = range === "24h" ? 3600_000 : 86_400_000;
  const count = range === "24h" ? 24 : 30;
  const end = Math.floor(now.getTime() / bucketMs) * bucketMs + bucketMs;
  return { bucketMs, count, start: end - count * bucketMs, end };
}

/**
 * Documents indexed, failures and cost per hour (24 h) or per day (30 d), from the runs that
 * finished in the range. Every bucket is present (zeros where nothing ran), oldest first.
 */
export async function throughput(
  db: Database,
  range: ThroughputRange,
  now = new Date(),
): Promise<Throughput> {
  const window = rangeWindow(range, now);
  const { bucketMs, start, end } = window;
  const rows = rowsOf<BucketRow>(
    await db.execute(sql`
      select floor((extract(epoch from finished_at) * 1000 - ${start}) / ${bucketMs})::int as bucket,
             count(*)::int as runs,
             count(*) filter (where status in ('failed', 'completed_with_errors'))::int as failed_runs,
             coalesce(sum(processed + deleted), 0)::int as documents,
             coalesce(sum(failed), 0)::int as failed_documents,
             coalesce(sum(cost_usd), 0)::float8 as cost
      from ${syncRuns}
      where finished_at >= ${new Date(start).toISOString()}::timestamptz
        and finished_at < ${new Date(end).toISOString()}::timestamptz
      group by 1`),
  );
  return bucketsOf(range, window, rows);
}

interface BucketRow {
  bucket: number;
  runs: number;
  failed_runs: number;
  documents: number;
  failed_documents: number;
  cost: number;
}

/** Every bucket of the range from its rows (zeros where none), oldest first, with totals. */
function bucketsOf(
  range: ThroughputRange,
  { bucketMs, count, start }: ReturnType<typeof rangeWindow>,
  rows: BucketRow[],
): Throughput {
  const byBucket = new Map(rows.map((r) => [Number(r.bucket), r]));
  const buckets: ThroughputBucket[] = [];
  const totals = { runs: 0, failedRuns: 0, documents: 0, failedDocuments: 0, costUsd: 0 };
  for (let i = 0; i < count; i++) {
    const row = byBucket.get(i);
    const bucket = {
      at: new Date(start + i * bucketMs).toISOString(),
      runs: Number(row?.runs ?? 0),
      failedRuns: Number(row?.failed_runs ?? 0),
      documents: Number(row?.documents ?? 0),
      failedDocuments: Number(row?.failed_documents ?? 0),
      costUsd: Number(row?.cost ?? 0),
    };
    buckets.push(bucket);
    totals.runs += bucket.runs;
    totals.failedRuns += bucket.failedRuns;
    totals.documents += bucket.documents;
    totals.failedDocuments += bucket.failedDocuments;
    totals.costUsd += bucket.costUsd;
  }
  return { range, bucketMinutes: bucketMs / 60_000, buckets, totals };
}

/**
 * The overview's two ranges, 24 h hourly and 30 d daily, from one pass over the runs of the
 * last 30 days (grouping sets: per day, and per hour for the last 24 hours) instead of two:
 * the same figures as throughput(db, "24h") and throughput(db, "30d").
 */
export async function overviewThroughput(
  db: Database,
  now = new Date(),
): Promise<{ day: Throughput; month: Throughput }> {
  const hours = rangeWindow("24h", now);
  const days = rangeWindow("30d", now);
  const { start: hourStart, end: hourEnd } = hours;
  const { start: dayStart, end: dayEnd } = days;
  const rows = rowsOf<BucketRow & { hourly: boolean }>(
    await db.execute(sql`
      with finished as (
        select extract(epoch from finished_at) * 1000 as ms, status, processed, deleted, failed, cost_usd
        from ${syncRuns}
        where finished_at >= ${new Date(Math.min(dayStart, hourStart)).toISOString()}::timestamptz
          and finished_at < ${new Date(Math.max(dayEnd, hourEnd)).toISOString()}::timestamptz
      ), bucketed as (
        select case when ms >= ${hourStart} and ms < ${hourEnd}
                 then floor((ms - ${hourStart}) / 3600000)::int end as hour,
               case when ms >= ${dayStart} and ms < ${dayEnd}
                 then floor((ms - ${dayStart}) / 86400000)::int end as day,
               status, processed, deleted, failed, cost_usd
        from finished
      )
      select grouping(hour) = 0 as hourly, coalesce(hour, day) as bucket,
             count(*)::int as runs,
             count(*) filter (where status in ('failed', 'completed_with_errors'))::int as failed_runs,
             coalesce(sum(processed + deleted), 0)::int as documents,
             coalesce(sum(failed), 0)::int as failed_documents,
             coalesce(sum(cost_usd), 0)::float8 as cost
      from bucketed
      group by grouping sets ((hour), (day))`),
  );
  const hourly = rows.filter((r) => r.hourly === true && r.bucket !== null);
  const daily = rows.filter((r) => r.hourly !== true && r.bucket !== null);
  return { day: bucketsOf("24h", hours, hourly), month: bucketsOf("30d", days, daily) };
}

export interface RunRow {
  id: string;
  source: string;
  status: RunStatus;
  trigger: string;
  mode: string | null;
  requestedMode: string;
  planned: number;
  processed: number;
  failed: number;
  deleted: number;
  chunksEmbedded: number;
  costUsd: number;
  queuedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
}

export const RUN_PAGE_SIZE = 50;

/** Runs newest first, filtered, a page at a time (`before` = the last row's queuedAt). */
export async function listRunRows(
  db: Database,
  options: { sourceId?: string; statuses?: RunStatus[]; before?: Date; limit?: number },
): Promise<RunRow[]> {
  const conditions = [
    options.sourceId ? eq(syncRuns.sourceId, options.sourceId) : undefined,
    options.statuses && options.statuses.length > 0
      ? inArray(syncRuns.status, options.statuses)
      : undefined,
    options.before ? lt(syncRuns.queuedAt, options.before) : undefined,
  ].filter((c) => c !== undefined);
  const rows = await db
    .select({
      id: syncRuns.id,
      source: sources.name,
      status: syncRuns.status,
      trigger: syncRuns.trigger,
      mode: syncRuns.mode,
      requestedMode: syncRuns.requestedMode,
      planned: syncRuns.planned,
      processed: syncRuns.processed,
      failed: syncRuns.failed,
      deleted: syncRuns.deleted,
      chunksEmbedded: syncRuns.chunksEmbedded,
      costUsd: syncRuns.costUsd,
      queuedAt: syncRuns.queuedAt,
      startedAt: syncRuns.startedAt,
      finishedAt: syncRuns.finishedAt,
      error: syncRuns.error,
    })
    .from(syncRuns)
    .innerJoin(sources, eq(sources.id, syncRuns.sourceId))
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(syncRuns.queuedAt))
    .limit(options.limit ?? RUN_PAGE_SIZE);
  return rows;
}

/** A run's failed documents (path and error), at most `limit`. */
export async function runFailures(db: Database, runId: string, limit = 200) {
  return db
    .select({
      path: syncRunItems.path,
      error: syncRunItems.error,
      attempts: syncRunItems.attempts,
      batch: syncRunItems.batch,
    })
    .from(syncRunItems)
    .where(and(eq(syncRunItems.runId, runId), eq(syncRunItems.status, "failed")))
    .orderBy(syncRunItems.path)
    .limit(limit);
}

export interface SourceRow {
  id: string;
  name: string;
  kind: "git" | "github";
  location: string;
  branch: string | null;
  status: "active" | "paused";
  include: string[];
  exclude: string[];
  documentCount: number;
  chunkCount: number;
  cursorCommit: string | null;
  cursorAt: Date | null;
  lastRun: { id: string; status: RunStatus; queuedAt: Date; finishedAt: Date | null } | null;
}

/**
 * Sources with documents, chunks and their last run. Chunks are summed from each document's
 * chunk_count (written with its chunks, in one transaction): one pass over documents instead
 * of counting every chunk.
 */
export async function listSourceRows(db: Database): Promise<SourceRow[]> {
  const [all, counts] = await Promise.all([
    db.select().from(sources).orderBy(asc(sources.name)),
    db.execute(
      sql`select source_id, count(*)::int as documents, coalesce(sum(chunk_count), 0)::int as chunks from documents group by source_id`,
    ),
  ]);
  const bySource = new Map(
    rowsOf<{ source_id: string; documents: number; chunks: number }>(counts).map((r) => [
      r.source_id,
      { documents: Number(r.documents), chunks: Number(r.chunks) },
    ]),
  );
  const lastRunIds = all.map((s) => s.lastRunId).filter((id): id is string => id !== null);
  const lastRuns =
    lastRunIds.length === 0
      ? []
      : await db
          .select({
            id: syncRuns.id,
            status: syncRuns.status,
            queuedAt: syncRuns.queuedAt,
            finishedAt: syncRuns.finishedAt,
          })
          .from(syncRuns)
          .where(inArray(syncRuns.id, lastRunIds));
  const runById = new Map(lastRuns.map((r) => [r.id, r]));
  return all.map((s) => ({
    id: s.id,
    name: s.name,
    kind: s.kind,
    location: s.location,
    branch: s.branch,
    status: s.status,
    include: s.include,
    exclude: s.exclude,
    documentCount: bySource.get(s.id)?.documents ?? 0,
    chunkCount: bySource.get(s.id)?.chunks ?? 0,
    cursorCommit: s.cursorCommit,
    cursorAt: s.cursorAt,
    lastRun: s.lastRunId ? (runById.get(s.lastRunId) ?? null) : null,
  }));
}

/** What removing a source deletes: its documents, chunks and runs. */
export async function sourceFootprint(db: Database, sourceId: string) {
  const [row] = rowsOf<{ documents: number; chunks: number; runs: number }>(
    await db.execute(sql`
      select (select count(*)::int from documents where source_id = ${sourceId}) as documents,
             (select coalesce(sum(chunk_count), 0)::int from documents where source_id = ${sourceId}) as chunks,
             (select count(*)::int from sync_runs where source_id = ${sourceId}) as runs`),
  );
  return {
    documents: Number(row?.documents ?? 0),
    chunks: Number(row?.chunks ?? 0),
    runs: Number(row?.runs ?? 0),
  };
}
