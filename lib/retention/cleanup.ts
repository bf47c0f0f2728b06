import { desc, eq, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { rowsOf } from "../../db/client";
import { type CleanupStatus, cleanupRuns, documents, sources } from "../../db/schema";
import type { ArchiveStore } from "../archive/types";
import type { CleanupConfig, TracesConfig } from "../config/schema";
import { NotFoundError, ValidationError } from "../errors";
import { deleteChunks, deleteDocuments } from "../index/write";
import { dispatchOutbox, enqueueEvents, type OutboxEvent } from "../outbox/outbox";
import { finishRun } from "../pipeline/runs";
import { createPathFilter } from "../sources/filter";
import { CLEANUP_DECIDED } from "../workflows/events";
import { archiveDay, cutoffDay, type DayOutcome, expireArchives, expiredDays } from "./archive";
import { DATASETS, type Dataset, datasetByName, type RetentionSettings } from "./datasets";

/**
 * The index side of the cleanup, and its plan: what would be deleted, per kind (and per source
 * for chunks), computed before anything is, so an operator can see it and approve a large one.
 * Rows that are archived first (traces, ledger, outbox, webhook deliveries, ended dead-letter
 * entries) can be restored and do not
 * count toward the approval threshold; index rows (documents, chunks) cannot and do.
 */
export interface CleanupSettings {
  traces: Pick<TracesConfig, "retentionDays" | "archiveRetentionDays">;
  cleanup: CleanupConfig;
  /** The parity ledger's retention (LEDGER_RETENTION_DAYS, at least 2: a day's replay reads it). */
  ledger?: { retentionDays: number };
}

export interface CleanupPlan {
  at: string;
  orphanedChunks: number;
  removedSourceDocuments: number;
  excludedDocuments: { sourceId: string; source: string; documents: number; chunks: number }[];
  stuckRuns: { id: string; sourceId: string; lastSeenAt: string }[];
  /** Per dataset: the expired days and their rows (archived before deletion). */
  archive: { dataset: string; cutoff: string; days: { day: string; rows: number }[] }[];
  /** Per dataset: archives older than this day are removed from the store. */
  archiveExpiry: { dataset: string; cutoff: string }[];
  /** Rows deleted without an archive (chunks and documents). */
  unarchivedRows: number;
  /** Sources that would lose more than the threshold fraction of their chunks. */
  sourcesOverThreshold: { sourceId: string; source: string; chunks: number; of: number }[];
  /** Why an operator must approve, or null. */
  approvalRequired: string | null;
}

function settingsFor(settings: CleanupSettings): RetentionSettings {
  return {
    traceRetentionDays: settings.traces.retentionDays,
    ledgerRetentionDays: Math.max(settings.ledger?.retentionDays ?? 14, 2),
    outboxRetentionDays: settings.cleanup.outboxRetentionDays,
    webhookRetentionDays: settings.cleanup.webhookRetentionDays,
    deadLetterRetentionDays: settings.cleanup.deadLetterRetentionDays,
  };
}

const ORPHANED_CHUNKS = sql`
  not exists (select 1 from documents d where d.id = c.document_id)
  or not exists (select 1 from sources s where s.id = c.source_id)`;

async function excludedBySource(db: Database, maxFileBytes: number) {
  const out: {
    sourceId: string;
    source: string;
    paths: string[];
    chunks: number;
  }[] = [];
  for (const source of await db.select().from(sources)) {
    const filter = createPathFilter({
      include: source.include,
      exclude: source.exclude,
      maxFileBytes: source.maxFileBytes ?? maxFileBytes,
    });
    const docs = await db
      .select({ path: documents.path, size: documents.byteSize, chunks: documents.chunkCount })
      .from(documents)
      .where(eq(documents.sourceId, source.id));
    const excluded = docs.filter((d) => !filter(d.path, d.size).ok);
    if (excluded.length > 0)
      out.push({
        sourceId: source.id,
        source: source.name,
        paths: excluded.map((d) => d.path),
        chunks: excluded.reduce((n, d) => n + d.chunks, 0),
      });
  }
  return out;
}

/** What a cleanup at `now` would do. Reads only. */
export async function planCleanup(
  db: Database,
  settings: CleanupSettings,
  now: Date,
  maxFileBytes: number,
): Promise<CleanupPlan> {
  const retention = settingsFor(settings);
  const [orphans] = rowsOf<{ n: string | number }>(
    await db.execute(sql`select count(*) as n from chunks c where ${ORPHANED_CHUNKS}`),
  );
  const orphansBySource = rowsOf<{ source_id: string; n: string | number }>(
    await db.execute(
      sql`select c.source_id, count(*) as n from chunks c where ${ORPHANED_CHUNKS} group by 1`,
    ),
  );
  const [removed] = rowsOf<{ n: string | number }>(
    await db.execute(sql`
      select count(*) as n from documents d
      where not exists (select 1 from sources s where s.id = d.source_id)`),
  );
  const excluded = await excludedBySource(db, maxFileBytes);
  const stuckBefore = new Date(now.getTime() - settings.cleanup.stuckRunMinutes * 60_000);
  const stuck = rowsOf<{ id: string; source_id: string; last_seen_at: string }>(
    await db.execute(sql`
      select id, source_id, coalesce(heartbeat_at, started_at, queued_at) as last_seen_at
      from sync_runs
      where status = 'running' and coalesce(heartbeat_at, started_at, queued_at) < ${stuckBefore.toISOString()}::timestamptz
      order by 3`),
  );
  const archive = [];
  for (const ds of DATASETS) {
    const cutoff = cutoffDay(now, ds.retentionDays(retention));
    archive.push({ dataset: ds.table, cutoff, days: await expiredDays(db, ds, cutoff) });
  }
  const archiveExpiry = DATASETS.map((ds) => ({
    dataset: ds.table,
    cutoff: cutoffDay(now, settings.traces.archiveRetentionDays),
  }));

  // The approval threshold: chunks per source, and rows in all, deleted without an archive.
  const chunkTotals = new Map(
    rowsOf<{ source_id: string; n: string | number }>(
      await db.execute(sql`select source_id, count(*) as n from chunks group by 1`),
    ).map((r) => [r.source_id, Number(r.n)]),
  );
  const losing = new Map<string, number>();
  for (const r of orphansBySource)
    losing.set(r.source_id, (losing.get(r.source_id) ?? 0) + Number(r.n));
  for (const e of excluded) losing.set(e.sourceId, (losing.get(e.sourceId) ?? 0) + e.chunks);
  const names = new Map(excluded.map((e) => [e.sourceId, e.source]));
  const sourcesOverThreshold = [...losing]
    .map(([sourceId, chunks]) => ({
      sourceId,
      source: names.get(sourceId) ?? sourceId,
      chunks,
      of: chunkTotals.get(sourceId) ?? chunks,
    }))
    .filter((s) => s.chunks > 0 && s.chunks > s.of * settings.cleanup.approvalFraction);
  const unarchivedRows =
    Number(orphans?.n ?? 0) +
    Number(removed?.n ?? 0) +
    excluded.reduce((n, e) => n + e.paths.length + e.chunks, 0);
  const reasons: string[] = [];
  if (unarchivedRows > settings.cleanup.approvalRows)
    reasons.push(
      `it would delete ${unarchivedRows} index rows (more than ${settings.cleanup.approvalRows})`,
    );
  for (const s of sourcesOverThreshold)
    reasons.push(
      `it would delete ${s.chunks} of the ${s.of} chunks of source ${s.source} (more than ${Math.round(settings.cleanup.approvalFraction * 100)} %)`,
    );
  return {
    at: now.toISOString(),
    orphanedChunks: Number(orphans?.n ?? 0),
    removedSourceDocuments: Number(removed?.n ?? 0),
    excludedDocuments: excluded.map(({ paths, ...e }) => ({ ...e, documents: paths.length })),
    stuckRuns: stuck.map((r) => ({
      id: r.id,
      sourceId: r.source_id,
      lastSeenAt: new Date(r.last_seen_at).toISOString(),
    })),
    archive,
    archiveExpiry,
    unarchivedRows,
    sourcesOverThreshold,
    approvalRequired: reasons.length > 0 ? reasons.join("; ") : null,
  };
}

// ------------------------------------------------------------------ the kinds of cleanup

export async function deleteOrphanedChunks(db: Database): Promise<number> {
  let deleted = 0;
  for (;;) {
    const ids = rowsOf<{ id: string }>(
      await db.execute(sql`select c.id from chunks c where ${ORPHANED_CHUNKS} limit 1000`),
    ).map((r) => r.id);
    if (ids.length === 0) return deleted;
    const n = await deleteChunks(db, ids);
    deleted += n;
    if (n === 0) return deleted;
  }
}

export async function deleteRemovedSourceDocuments(db: Database): Promise<number> {
  const rows = rowsOf<{ id: string }>(
    await db.execute(sql`
      delete from documents d where not exists (select 1 from sources s where s.id = d.source_id)
      returning id`),
  );
  return rows.length;
}

/** Documents (and chunks) the source's current filters exclude; returns documents, chunks. */
export async function deleteExcludedDocuments(
  db: Database,
  maxFileBytes: number,
): Promise<{ documents: number; chunks: number }> {
  let docs = 0;
  let chunks = 0;
  for (const source of await excludedBySource(db, maxFileBytes)) {
    for (let i = 0; i < source.paths.length; i += 500) {
      const deleted = await db.transaction((tx) =>
        deleteDocuments(tx as unknown as Database, source.sourceId, source.paths.slice(i, i + 500)),
      );
      docs += deleted.size;
      for (const n of deleted.values()) chunks += n;
    }
  }
  return { documents: docs, chunks };
}

/** Fails runs that stopped reporting, with the reason; returns how many. */
export async function failStuckRuns(
  db: Database,
  stuckRunMinutes: number,
  now: Date,
): Promise<number> {
  const before = new Date(now.getTime() - stuckRunMinutes * 60_000);
  const stuck = rowsOf<{ id: string; last_seen_at: string }>(
    await db.execute(sql`
      select id, coalesce(heartbeat_at, started_at, queued_at) as last_seen_at from sync_runs
      where status = 'running' and coalesce(heartbeat_at, started_at, queued_at) < ${before.toISOString()}::timestamptz`),
  );
  for (const run of stuck)
    await finishRun(db, run.id, "failed", {
      error: `failed by the cleanup: still running with no heartbeat since ${new Date(run.last_seen_at).toISOString()} (more than ${stuckRunMinutes} minutes); its process is gone`,
    });
  return stuck.length;
}

/** Archives (verify, then delete) one expired day of one dataset. */
export function archiveExpiredDay(
  db: Database,
  store: ArchiveStore,
  dataset: string,
  day: string,
): Promise<DayOutcome> {
  const ds = datasetByName(dataset);
  if (!ds)
    throw new ValidationError(`no dataset ${dataset}`, [{ path: "dataset", message: "unknown" }]);
  return archiveDay(db, store, ds, day);
}

export async function expireDatasetArchives(
  db: Database,
  store: ArchiveStore,
  dataset: string,
  cutoff: string,
): Promise<number> {
  const ds = datasetByName(dataset) as Dataset;
  return (await expireArchives(db, store, ds, cutoff)).objects;
}

/** VACUUM (ANALYZE) on the embedded database; a managed Postgres vacuums itself. */
export async function maintainDatabase(db: Database, driver: string): Promise<string> {
  if (driver !== "pglite") return "skipped (managed Postgres autovacuums)";
  for (const table of [
    "chunks",
    "documents",
    "trace_spans",
    "outbox_events",
    "webhook_deliveries",
    "lexical_terms",
    "dead_letters",
    "dead_letter_attempts",
  ])
    await db.execute(sql`vacuum (analyze) ${sql.identifier(table)}`);
  return "vacuum (analyze)";
}

// ------------------------------------------------------------------ runs

export type CleanupRun = typeof cleanupRuns.$inferSelect;

export async function startCleanupRun(
  db: Database,
  input: {
    dedupeKey: string;
    correlationId: string;
    trigger: string;
    requestedBy?: string;
    plan: CleanupPlan;
  },
): Promise<CleanupRun> {
  await db
    .insert(cleanupRuns)
    .values({
      dedupeKey: input.dedupeKey,
      correlationId: input.correlationId,
      trigger: input.trigger,
      requestedBy: input.requestedBy ?? null,
      plan: input.plan as unknown as Record<string, unknown>,
      approvalRequired: input.plan.approvalRequired,
    })
    .onConflictDoNothing({ target: cleanupRuns.dedupeKey });
  const [run] = await db
    .select()
    .from(cleanupRuns)
    .where(eq(cleanupRuns.dedupeKey, input.dedupeKey));
  return run as CleanupRun;
}

export async function getCleanupRun(db: Database, id: string): Promise<CleanupRun> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id))
    throw new ValidationError("a cleanup run id is a UUID", [
      { path: "runId", message: "not a UUID" },
    ]);
  const [run] = await db.select().from(cleanupRuns).where(eq(cleanupRuns.id, id));
  if (!run) throw new NotFoundError(`no cleanup run ${id}`);
  return run;
}

export async function listCleanupRuns(db: Database, limit = 20): Promise<CleanupRun[]> {
  return db
    .select()
    .from(cleanupRuns)
    .orderBy(desc(cleanupRuns.startedAt))
    .limit(Math.min(Math.max(limit, 1), 200));
}

/** Adds counts of one kind to the run (visible while it runs). */
export async function addCleanupCounts(
  db: Database,
  runId: string,
  counts: Record<string, number>,
): Promise<void> {
  await db.execute(sql`
    update cleanup_runs set counts = counts || (
      select coalesce(jsonb_object_agg(e.k, coalesce((counts ->> e.k)::bigint, 0) + e.v::bigint), '{}'::jsonb)
      from jsonb_each_text(${JSON.stringify(counts)}::jsonb) as e(k, v)
    ) where id = ${runId}`);
}

export async function setCleanupStatus(
  db: Database,
  runId: string,
  status: CleanupStatus,
  error?: string,
): Promise<void> {
  const finished = !["running", "awaiting_approval"].includes(status);
  await db
    .update(cleanupRuns)
    .set({
      status,
      ...(error !== undefined ? { error: error.slice(0, 2000) } : {}),
      ...(finished ? { finishedAt: new Date() } : {}),
    })
    .where(eq(cleanupRuns.id, runId));
}

/**
 * An operator's decision on a run awaiting approval. Only once, only while it waits; the
 * reason is required. Returns the run as decided.
 */
export async function decideCleanup(
  db: Database,
  runId: string,
  decision: "approve" | "reject",
  input: { by: string; reason: string },
): Promise<CleanupRun> {
  const reason = input.reason.trim();
  if (reason.length < 3 || reason.length > 1000)
    throw new ValidationError("a reason (3-1000 characters) is required", [
      { path: "reason", message: "3-1000 characters" },
    ]);
  const run = await getCleanupRun(db, runId);
  if (run.decision)
    throw new ValidationError(`cleanup run ${runId} was already ${run.decision}d`, [
      { path: "runId", message: "already decided" },
    ]);
  if (run.status !== "awaiting_approval")
    throw new ValidationError(`cleanup run ${runId} is ${run.status}, not awaiting approval`, [
      { path: "runId", message: run.status },
    ]);
  const [updated] = await db
    .update(cleanupRuns)
    .set({
      decision,
      decidedBy: input.by.slice(0, 200),
      decisionReason: reason,
      decidedAt: new Date(),
    })
    .where(sql`${cleanupRuns.id} = ${runId} and ${cleanupRuns.decision} is null`)
    .returning();
  if (!updated)
    throw new ValidationError(`cleanup run ${runId} was decided meanwhile`, [
      { path: "runId", message: "already decided" },
    ]);
  return updated;
}

/** A run as the API and the CLI show it: plan first (what would be deleted), then the outcome. */
export function cleanupView(run: CleanupRun) {
  return {
    id: run.id,
    status: run.status,
    trigger: run.trigger,
    requestedBy: run.requestedBy,
    correlationId: run.correlationId,
    approvalRequired: run.approvalRequired,
    decision: run.decision
      ? {
          decision: run.decision,
          by: run.decidedBy,
          reason: run.decisionReason,
          at: run.decidedAt?.toISOString() ?? null,
        }
      : null,
    plan: run.plan,
    counts: run.counts,
    error: run.error,
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt?.toISOString() ?? null,
  };
}

/**
 * Records an operator's decision and tells the waiting workflow (the event goes through the
 * outbox, so it is not lost when the engine does not answer at once).
 */
export async function decideAndNotify(
  db: Database,
  runId: string,
  decision: "approve" | "reject",
  input: { by: string; reason: string },
  send: (events: OutboxEvent[]) => Promise<void>,
): Promise<{ run: CleanupRun; dispatched: boolean }> {
  const run = await decideCleanup(db, runId, decision, input);
  const event: OutboxEvent = {
    id: `cleanup-decision:${runId}`,
    name: CLEANUP_DECIDED,
    data: {
      runId,
      decision,
      ...(run.correlationId ? { correlationId: run.correlationId } : {}),
    },
  };
  await enqueueEvents(db, [event]);
  const sent = await dispatchOutbox(db, send, { ids: [event.id] });
  return { run, dispatched: sent.sent === 1 };
}
