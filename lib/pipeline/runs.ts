import { hostname } from "node:os";
import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";
import { type Database, hasSqlState, rowsOf } from "../../db/client";
import {
  type RunMode,
  type RunStatus,
  type RunTrigger,
  sources,
  syncRunItems,
  syncRuns,
} from "../../db/schema";
import { NotFoundError, ValidationError } from "../errors";
import { type DlqSettings, recordRunOutcome } from "../recovery/dlq";
import { notifyRunProgress } from "./run-notify";

export type RunRecord = typeof syncRuns.$inferSelect;
export type FinalStatus = Extract<
  RunStatus,
  "succeeded" | "completed_with_errors" | "failed" | "cancelled"
>;

/** A running sync whose heartbeat is older than this is presumed dead (its process was killed). */
export const STALE_RUN_MS = 10 * 60_000;

export interface RunRequest {
  sourceId: string;
  trigger: RunTrigger;
  mode: RunMode;
  dedupeKey: string;
  note?: string;
  /** The first cause's id (webhook delivery, admin request, cron tick), carried through. */
  correlationId?: string;
}

/** Creates the run, or returns the one already created for this dedupe key (a replayed event). */
export async function createRun(db: Database, request: RunRequest): Promise<RunRecord> {
  const [created] = await db
    .insert(syncRuns)
    .values({
      sourceId: request.sourceId,
      trigger: request.trigger,
      requestedMode: request.mode,
      dedupeKey: request.dedupeKey,
      note: request.note ?? null,
      correlationId: request.correlationId ?? null,
    })
    .onConflictDoNothing({ target: syncRuns.dedupeKey })
    .returning();
  if (created) return created;
  const [existing] = await db
    .select()
    .from(syncRuns)
    .where(eq(syncRuns.dedupeKey, request.dedupeKey))
    .limit(1);
  if (!existing) throw new Error(`run for ${request.dedupeKey} vanished`);
  return existing;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A run by id, or by a unique prefix of at least 6 characters (the CLI shows the first 8). */
export async function getRun(db: Database, idOrPrefix: string): Promise<RunRecord> {
  if (UUID.test(idOrPrefix)) {
    const [run] = await db.select().from(syncRuns).where(eq(syncRuns.id, idOrPrefix)).limit(1);
    if (!run) throw new NotFoundError(`no run ${idOrPrefix}`);
    return run;
  }
  if (!/^[0-9a-f-]{6,35}$/i.test(idOrPrefix))
    throw new ValidationError(`"${idOrPrefix}" is not a run id (a UUID, or its first characters)`, [
      { path: "id", message: "not a run id" },
    ]);
  const matches = await db
    .select()
    .from(syncRuns)
    .where(sql`${syncRuns.id}::text like ${`${idOrPrefix.toLowerCase()}%`}`)
    .limit(2);
  if (matches.length > 1)
    throw new ValidationError(`run id prefix ${idOrPrefix} is ambiguous; give more characters`, [
      { path: "id", message: "ambiguous" },
    ]);
  const [run] = matches;
  if (!run) throw new NotFoundError(`no run ${idOrPrefix}`);
  return run;
}

export function isFinished(status: RunStatus): boolean {
  return status !== "queued" && status !== "running";
}

export type ClaimResult =
  | { state: "claimed"; run: RunRecord }
  | { state: "finished"; run: RunRecord }
  | { state: "busy"; run: RunRecord; blockingRunId: string };

/**
 * Moves a queued run to running. At most one run per source runs at a time (a partial
 * unique index enforces it across processes); a running run without a heartbeat for
 * STALE_RUN_MS is marked failed so a killed process cannot block its source forever.
 */
export async function claimRun(
  db: Database,
  runId: string,
  now = new Date(),
  owner?: string,
): Promise<ClaimResult> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const run = await getRun(db, runId);
    if (isFinished(run.status)) return { state: "finished", run };
    if (run.status === "running") return { state: "claimed", run };
    const blocking = await runningRunOf(db, run.sourceId);
    if (blocking) {
      const beat = blocking.heartbeatAt ?? blocking.startedAt ?? blocking.queuedAt;
      const gone = ownerIsGone(blocking.owner);
      if (!gone && now.getTime() - beat.getTime() < STALE_RUN_MS)
        return { state: "busy", run, blockingRunId: blocking.id };
      await finishRun(db, blocking.id, "failed", {
        error: gone
          ? `abandoned: the process running it (${blocking.owner}) is gone; superseded by run ${runId}`
          : `abandoned: no heartbeat since ${beat.toISOString()} (the process running it stopped); superseded by run ${runId}`,
      });
      continue;
    }
    try {
      const [claimed] = await db
        .update(syncRuns)
        .set({
          status: "running",
          startedAt: now,
          heartbeatAt: now,
          updatedAt: now,
          owner: owner ?? null,
        })
        .where(and(eq(syncRuns.id, runId), eq(syncRuns.status, "queued")))
        .returning();
      if (claimed) {
        await db
          .update(sources)
          .set({ lastRunId: runId, updatedAt: now })
          .where(eq(sources.id, claimed.sourceId));
        await notifyRunProgress(db, runId);
        return { state: "claimed", run: claimed };
      }
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
  }
  const run = await getRun(db, runId);
  if (run.status === "running") return { state: "claimed", run };
  if (isFinished(run.status)) return { state: "finished", run };
  const blocking = await runningRunOf(db, run.sourceId);
  return { state: "busy", run, blockingRunId: blocking?.id ?? "unknown" };
}

/** This machine's name and this process's id: a run's owner when one process drives it all. */
export function localRunOwner(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * Whether a run's owner is a process of this machine that no longer exists. Another machine's
 * process, or an owner this process cannot check, counts as alive (the heartbeat decides).
 */
export function ownerIsGone(owner: string | null | undefined): boolean {
  const match = /^(.+):(\d{1,10})$/.exec(owner ?? "");
  if (!match || match[1] !== hostname()) return false;
  const pid = Number(match[2]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

async function runningRunOf(db: Database, sourceId: string): Promise<RunRecord | undefined> {
  const [running] = await db
    .select()
    .from(syncRuns)
    .where(and(eq(syncRuns.sourceId, sourceId), eq(syncRuns.status, "running")))
    .limit(1);
  return running;
}

function isUniqueViolation(error: unknown): boolean {
  return hasSqlState(error, "23505");
}

export async function heartbeat(db: Database, runId: string): Promise<void> {
  await db
    .update(syncRuns)
    .set({ heartbeatAt: new Date() })
    .where(and(eq(syncRuns.id, runId), eq(syncRuns.status, "running")));
}

/**
 * Gives a claimed run back to the queue after a planning attempt failed in a way a retry can
 * fix (a git fetch timed out, the database blinked), so the source is not busy meanwhile.
 * Planned runs stay running: their batches are in flight.
 */
export async function requeueRun(db: Database, runId: string): Promise<void> {
  await db
    .update(syncRuns)
    .set({ status: "queued", startedAt: null, heartbeatAt: null, updatedAt: new Date() })
    .where(
      and(
        eq(syncRuns.id, runId),
        eq(syncRuns.status, "running"),
        sql`${syncRuns.plannedAt} is null`,
      ),
    );
}

/** A batch's documents still pending are marked failed (after its retries); returns how many. */
export async function failPendingItems(
  db: Database,
  runId: string,
  batch: number,
  error: string,
  failure: { errorClass?: string; dependency?: string } = {},
): Promise<number> {
  const rows = await db
    .update(syncRunItems)
    .set({
      status: "failed",
      error: error.slice(0, 1000),
      errorClass: failure.errorClass ?? "internal",
      dependency: failure.dependency ?? null,
      finishedAt: sql`now()`,
    })
    .where(
      and(
        eq(syncRunItems.runId, runId),
        eq(syncRunItems.batch, batch),
        eq(syncRunItems.status, "pending"),
      ),
    )
    .returning({ path: syncRunItems.path });
  return rows.length;
}

/** The run a request key made, if any. */
export async function findRunByDedupeKey(
  db: Database,
  dedupeKey: string,
): Promise<RunRecord | undefined> {
  const [run] = await db.select().from(syncRuns).where(eq(syncRuns.dedupeKey, dedupeKey)).limit(1);
  return run;
}

/** Ends a run without touching its items (plan failures, cancellation, abandonment). */
export async function finishRun(
  db: Database,
  runId: string,
  status: FinalStatus,
  fields: { error?: string; note?: string } = {},
): Promise<void> {
  const now = new Date();
  await db
    .update(syncRuns)
    .set({
      status,
      finishedAt: now,
      updatedAt: now,
      error: fields.error ?? null,
      ...(fields.note ? { note: fields.note } : {}),
    })
    .where(and(eq(syncRuns.id, runId), inArray(syncRuns.status, ["queued", "running"])));
  await notifyRunProgress(db, runId);
}

export interface RunCounts {
  planned: number;
  pending: number;
  processed: number;
  skipped: number;
  skippedByReason: Record<string, number>;
  failed: number;
  deleted: number;
  chunksWritten: number;
  chunksEmbedded: number;
  chunksReused: number;
  chunksDeleted: number;
  tokens: number;
  costUsd: number;
  batchesDone: number;
}

/** Live counts from the run's items, merged with what the plan skipped up front. */
export async function countRun(db: Database, run: RunRecord): Promise<RunCounts> {
  const rows = rowsOf<{
    status: string;
    action: string;
    reason: string | null;
    n: number;
    chunks_written: number;
    chunks_embedded: number;
    chunks_reused: number;
    chunks_deleted: number;
    tokens: number;
    cost_usd: number;
  }>(
    await db.execute(sql`
      select status, action, reason, count(*)::int as n,
        coalesce(sum(chunks_written), 0)::int as chunks_written,
        coalesce(sum(chunks_embedded), 0)::int as chunks_embedded,
        coalesce(sum(chunks_reused), 0)::int as chunks_reused,
        coalesce(sum(chunks_deleted), 0)::int as chunks_deleted,
        coalesce(sum(tokens), 0)::int as tokens,
        coalesce(sum(cost_usd), 0)::float8 as cost_usd
      from ${syncRunItems} where run_id = ${run.id}
      group by status, action, reason`),
  );
  const skippedByReason: Record<string, number> = { ...run.skippedByReason };
  const counts: RunCounts = {
    planned: run.planned,
    pending: 0,
    processed: 0,
    skipped: Object.values(run.skippedByReason).reduce((a, b) => a + b, 0),
    skippedByReason,
    failed: 0,
    deleted: 0,
    chunksWritten: 0,
    chunksEmbedded: 0,
    chunksReused: 0,
    chunksDeleted: 0,
    tokens: 0,
    costUsd: 0,
    batchesDone: 0,
  };
  for (const row of rows) {
    const n = Number(row.n);
    if (row.status === "pending") counts.pending += n;
    else if (row.status === "failed") counts.failed += n;
    else if (row.status === "skipped") {
      counts.skipped += n;
      const reason = row.reason ?? "unknown";
      skippedByReason[reason] = (skippedByReason[reason] ?? 0) + n;
    } else if (row.action === "delete") counts.deleted += n;
    else counts.processed += n;
    counts.chunksWritten += Number(row.chunks_written);
    counts.chunksEmbedded += Number(row.chunks_embedded);
    counts.chunksReused += Number(row.chunks_reused);
    counts.chunksDeleted += Number(row.chunks_deleted);
    counts.tokens += Number(row.tokens);
    counts.costUsd += Number(row.cost_usd);
  }
  const [done] = rowsOf<{ n: number }>(
    await db.execute(sql`
      select count(*)::int as n from (
        select batch from ${syncRunItems} where run_id = ${run.id}
        group by batch having bool_and(status <> 'pending')) b`),
  );
  counts.batchesDone = Number(done?.n ?? 0);
  return counts;
}

/** The counts stored on a run when it ends. */
const STORED_COUNTS = [
  "processed",
  "skipped",
  "skippedByReason",
  "failed",
  "deleted",
  "chunksWritten",
  "chunksEmbedded",
  "chunksReused",
  "chunksDeleted",
  "tokens",
  "costUsd",
] as const satisfies readonly (keyof RunCounts & keyof RunRecord)[];
type StoredCounts = Pick<RunCounts, (typeof STORED_COUNTS)[number]>;

function storedCounts(from: StoredCounts): StoredCounts {
  return Object.fromEntries(
    STORED_COUNTS.map((key) => [key, from[key]]),
  ) as unknown as StoredCounts;
}

export async function pendingItemCount(db: Database, runId: string): Promise<number> {
  const [row] = rowsOf<{ n: number }>(
    await db.execute(
      sql`select count(*)::int as n from ${syncRunItems} where run_id = ${runId} and status = 'pending'`,
    ),
  );
  return Number(row?.n ?? 0);
}

export interface FinalizeOptions {
  /** Items still pending are marked failed with this reason (the orchestrator gave up waiting). */
  abandonPendingAs?: string;
  /** Dead-letter settings (re-drive cap and backoff). */
  dlq?: DlqSettings;
}

/**
 * Ends a run from its items: final counts, status, the source's cursor (advanced only when
 * the run completed), and the failure list the next sync retries. Idempotent.
 */
export async function finalizeRun(
  db: Database,
  runId: string,
  options: FinalizeOptions = {},
): Promise<RunRecord> {
  const run = await getRun(db, runId);
  if (isFinished(run.status)) return run;
  const now = new Date();
  return db.transaction(async (tx) => {
    const t = tx as unknown as Database;
    if (options.abandonPendingAs) {
      await t
        .update(syncRunItems)
        .set({
          status: "failed",
          error: options.abandonPendingAs,
          errorClass: "timeout",
          finishedAt: now,
        })
        .where(and(eq(syncRunItems.runId, runId), eq(syncRunItems.status, "pending")));
    }
    const counts = await countRun(t, run);
    if (counts.pending > 0)
      throw new Error(`run ${runId} still has ${counts.pending} pending documents`);
    const status: FinalStatus = counts.failed > 0 ? "completed_with_errors" : "succeeded";

    // Failed documents go to the dead-letter queue; those that now succeeded leave it.
    await recordRunOutcome(t, run, options.dlq, now);

    await t
      .update(sources)
      .set({
        cursorCommit: run.toCommit,
        cursorBranch: run.branch,
        cursorFilterHash: run.filterHash,
        cursorAt: now,
        updatedAt: now,
      })
      .where(eq(sources.id, run.sourceId));
    const [finished] = await t
      .update(syncRuns)
      .set({
        status,
        finishedAt: now,
        updatedAt: now,
        ...storedCounts(counts),
      })
      .where(eq(syncRuns.id, runId))
      .returning();
    if (!finished) throw new Error(`run ${runId} vanished while finalizing`);
    await notifyRunProgress(t, runId);
    return finished;
  });
}

export async function listRuns(
  db: Database,
  options: { sourceId?: string; status?: RunStatus; limit: number; before?: Date },
) {
  const conditions = [
    options.sourceId ? eq(syncRuns.sourceId, options.sourceId) : undefined,
    options.status ? eq(syncRuns.status, options.status) : undefined,
    options.before ? lt(syncRuns.queuedAt, options.before) : undefined,
  ].filter((c) => c !== undefined);
  return db
    .select({ run: syncRuns, sourceName: sources.name })
    .from(syncRuns)
    .innerJoin(sources, eq(sources.id, syncRuns.sourceId))
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(syncRuns.queuedAt))
    .limit(options.limit);
}

/** A run in the shape the API and CLI show: live counts while it runs, final counts after. */
export async function describeRun(db: Database, run: RunRecord) {
  const live = isFinished(run.status) ? undefined : await countRun(db, run);
  const counts = live ?? {
    planned: run.planned,
    pending: 0,
    batchesDone: run.batchesTotal,
    ...storedCounts(run),
  };
  const end = run.finishedAt ?? new Date();
  return {
    id: run.id,
    sourceId: run.sourceId,
    status: run.status,
    trigger: run.trigger,
    correlationId: run.correlationId,
    requestedMode: run.requestedMode,
    mode: run.mode,
    note: run.note,
    error: run.error,
    branch: run.branch,
    fromCommit: run.fromCommit,
    toCommit: run.toCommit,
    embeddingSpace: run.embeddingSpace,
    batches: { total: run.batchesTotal, done: counts.batchesDone },
    counts: { planned: counts.planned, pending: counts.pending, ...storedCounts(counts) },
    timings: {
      queuedAt: run.queuedAt.toISOString(),
      startedAt: run.startedAt?.toISOString() ?? null,
      plannedAt: run.plannedAt?.toISOString() ?? null,
      finishedAt: run.finishedAt?.toISOString() ?? null,
      durationMs: run.startedAt ? end.getTime() - run.startedAt.getTime() : null,
    },
  };
}
