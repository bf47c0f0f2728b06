import { and, eq } from "drizzle-orm";
import type { Database } from "../../db/client";
import { syncRunItems } from "../../db/schema";
import type { PipelineDeps } from "../pipeline/deps";
import { describeRun, getRun, type RunRecord } from "../pipeline/runs";
import { type CursorState, cursorOf, indexDigest, recordLedger, short } from "./record";

/**
 * What the sync pipeline records in the parity ledger, one entry per decision point:
 *   plan:<run>          the planned document set (path, action, blob hash), skips by reason,
 *                       the cursor before, the mode and why, planning latency
 *   batch:<run>:<n>     per document: outcome and reason, content hash, chunk content hashes,
 *                       chunk ids written and deleted; embedding calls, texts and tokens;
 *                       read/chunk, embed and write latency
 *   run:<run>           final status, counts, errors, cursor after, the source's index digest
 * The plan and batch entries are written in the same transaction as what they describe.
 */

/** The planned set as [path, action, blob id] triples (compact: a full sync lists every file). */
export type PlannedItem = [string, "upsert" | "delete", string | null];

export interface PlanRecord {
  mode: "full" | "incremental";
  requestedMode: "full" | "incremental";
  cursorBefore: CursorState;
  toCommit: string | null;
  branch: string | null;
  configHash: string;
  filterHash: string;
  notes: string[];
  skippedByReason: Record<string, number>;
  planned: PlannedItem[];
  batches: number;
  bulkLoad: boolean;
  ms: number;
}

export async function recordPlan(
  t: Database,
  deps: Pick<PipelineDeps, "ledger">,
  run: Pick<RunRecord, "id" | "sourceId" | "correlationId">,
  plan: PlanRecord,
): Promise<void> {
  await recordLedger(
    t,
    [
      {
        key: `plan:${run.id}`,
        kind: "plan",
        name: "sync.plan",
        correlationId: run.correlationId,
        sourceId: run.sourceId,
        runId: run.id,
        data: { ...plan, ms: Math.round(plan.ms * 10) / 10 },
      },
    ],
    deps.ledger,
  );
}

/** One document of a batch as the ledger keeps it. */
export interface BatchDocument {
  path: string;
  action: "upsert" | "delete";
  status: "done" | "skipped" | "failed";
  reason?: string;
  error?: string;
  blobSha: string | null;
  contentHash?: string;
  /** The document's chunk content hashes (short), in order, after this batch. */
  chunks?: string[];
  /** Ids (short) of the chunks inserted and deleted. */
  written?: string[];
  deleted?: string[];
  chunksDeleted: number;
  chunksEmbedded: number;
  tokens: number;
}

export interface BatchRecord {
  batch: number;
  documents: BatchDocument[];
  embedding: { calls: number; texts: number; tokens: number; requests: number; retries: number };
  ms: { read: number; embed: number; write: number };
}

export async function recordBatch(
  t: Database,
  deps: Pick<PipelineDeps, "ledger">,
  run: Pick<RunRecord, "id" | "sourceId" | "correlationId">,
  record: BatchRecord,
): Promise<void> {
  const round = (ms: number) => Math.round(ms * 10) / 10;
  await recordLedger(
    t,
    [
      {
        key: `batch:${run.id}:${record.batch}`,
        kind: "batch",
        name: "sync.batch",
        correlationId: run.correlationId,
        sourceId: run.sourceId,
        runId: run.id,
        data: {
          ...record,
          ms: {
            read: round(record.ms.read),
            embed: round(record.ms.embed),
            write: round(record.ms.write),
          },
        },
      },
    ],
    deps.ledger,
  );
}

export { short };

/**
 * The outcome of a finished run: status, counts, errors, the cursor after and the source's
 * index digest. Idempotent (keyed by the run); a run still running records nothing.
 */
export async function recordRunOutcome(deps: PipelineDeps, runId: string): Promise<boolean> {
  if (deps.ledger?.enabled === false) return false;
  const { db } = deps;
  const run = await getRun(db, runId);
  if (run.status === "queued" || run.status === "running") return false;
  const view = await describeRun(db, run);
  const errors = (
    await db
      .select({ path: syncRunItems.path, error: syncRunItems.error })
      .from(syncRunItems)
      .where(and(eq(syncRunItems.runId, runId), eq(syncRunItems.status, "failed")))
      .orderBy(syncRunItems.path)
      .limit(200)
  ).map((e) => ({ path: e.path, error: e.error ?? "failed" }));
  const digest = await indexDigest(db, run.sourceId);
  const inserted = await recordLedger(
    db,
    [
      {
        key: `run:${run.id}`,
        kind: "run",
        name: "sync.run",
        correlationId: run.correlationId,
        sourceId: run.sourceId,
        runId: run.id,
        data: {
          dedupeKey: run.dedupeKey,
          trigger: run.trigger,
          requestedMode: run.requestedMode,
          mode: run.mode,
          status: run.status,
          error: run.error,
          note: run.note,
          fromCommit: run.fromCommit,
          toCommit: run.toCommit,
          branch: run.branch,
          configHash: run.configHash,
          embeddingSpace: run.embeddingSpace,
          counts: view.counts,
          errors,
          cursorAfter: await cursorOf(db, run.sourceId),
          index: digest,
          queuedAt: run.queuedAt.toISOString(),
          startedAt: run.startedAt?.toISOString() ?? null,
          finishedAt: run.finishedAt?.toISOString() ?? null,
          ms: { total: view.timings.durationMs },
        },
      },
    ],
    deps.ledger,
  );
  return inserted > 0;
}

/** An inbound event: a webhook delivery, an admin request, a cron tick. */
export interface InboundEvent {
  /** Unique per event, e.g. `github:<delivery id>`, `admin:<request id>`. */
  id: string;
  name: "github.webhook" | "admin.request" | "cron.tick";
  correlationId: string;
  sourceId?: string | null;
  /** What the event carried (ids, names, hashes; never payload bodies) and what it caused. */
  data: Record<string, unknown>;
}

export async function recordInboundEvent(
  db: Database,
  event: InboundEvent,
  options: PipelineDeps["ledger"] = {},
): Promise<void> {
  await recordLedger(
    db,
    [
      {
        key: `event:${event.id}`,
        kind: "event",
        name: event.name,
        correlationId: event.correlationId,
        sourceId: event.sourceId ?? null,
        data: event.data,
      },
    ],
    options,
  );
}
