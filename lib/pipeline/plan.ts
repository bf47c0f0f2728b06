import { createHash } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { type Database, rowsOf } from "../../db/client";
import { documents, syncRunItems, syncRuns } from "../../db/schema";
import { EmbeddingOffError } from "../embedding/simulated";
import { BallastError, errorMessage } from "../errors";
import { dropVectorIndex, ensureVectorIndex } from "../index/vector-index";
import { mergePendingTermStats } from "../index/write";
import { recordPlan } from "../ledger/pipeline";
import { releasedDocuments } from "../recovery/dlq";
import { createPathFilter, DEFAULT_EXCLUDES } from "../sources/filter";
import type { Change, FileEntry } from "../sources/types";
import { indexConfigHash, type PipelineDeps, readerFor } from "./deps";
import { notifyRunProgress } from "./run-notify";
import { claimRun, finishRun, getRun, type RunRecord, requeueRun } from "./runs";
import { getSource } from "./source-records";

/** Changes when the default excludes change, so sources re-plan in full. */
const FILTER_VERSION = DEFAULT_EXCLUDES.join("|");

/** Planned upserts at or above this count load in bulk (the source's index dropped, rebuilt at the end)… */
export const BULK_LOAD_MIN_DOCUMENTS = 200;
/** …when they are also at least this share of what the source already holds in the space. */
export const BULK_LOAD_MIN_SHARE = 0.5;

export type PlanOutcome =
  | {
      state: "planned";
      runId: string;
      batches: number;
      planned: number;
      mode: "full" | "incremental";
    }
  | { state: "busy"; runId: string; blockingRunId: string }
  | { state: "finished"; runId: string; status: RunRecord["status"] };

interface PlanItem {
  path: string;
  action: "upsert" | "delete";
  blobSha: string | null;
  size: number | null;
}

/**
 * Step 1 of a sync: claim the run, find the source's head, and write the plan — the
 * documents to upsert or delete, in batches — from a full listing or from the diff since
 * the stored cursor. Idempotent: a run already planned returns its plan.
 */
export async function planRun(deps: PipelineDeps, runId: string): Promise<PlanOutcome> {
  const { db } = deps;
  const claim = await claimRun(db, runId, new Date(), deps.runOwner);
  if (claim.state === "busy") return { state: "busy", runId, blockingRunId: claim.blockingRunId };
  if (claim.state === "finished") return { state: "finished", runId, status: claim.run.status };
  const run = claim.run;
  if (run.plannedAt) {
    return {
      state: "planned",
      runId,
      batches: run.batchesTotal,
      planned: run.planned,
      mode: run.mode ?? "full",
    };
  }
  try {
    return await writePlan(deps, run);
  } catch (error) {
    if (error instanceof BallastError && !error.retryable) {
      await finishRun(db, runId, "failed", { error: `plan failed: ${errorMessage(error)}` });
      return { state: "finished", runId, status: "failed" };
    }
    // A retry may fix it: free the source meanwhile. After the last retry the workflow's
    // onFailure ends the run, so no path out of planning leaves it running.
    await requeueRun(db, runId).catch((requeueError: unknown) =>
      deps.log.warn({ runId, err: requeueError }, "could not requeue the run after a plan failure"),
    );
    throw error;
  }
}

async function writePlan(deps: PipelineDeps, run: RunRecord): Promise<PlanOutcome> {
  const { db, log } = deps;
  const started = performance.now();
  const source = await getSource(db, run.sourceId);
  const reader = readerFor(deps, source);
  const configHash = indexConfigHash(deps);
  const head = await reader.resolveHead();

  if (head.state === "branch-missing") {
    await finishRun(db, run.id, "failed", {
      error: `branch ${head.branch} does not exist (deleted?); the index keeps the last synced state${source.cursorCommit ? ` at ${source.cursorCommit.slice(0, 12)}` : ""}`,
    });
    return { state: "finished", runId: run.id, status: "failed" };
  }

  const notes: string[] = [];
  const skippedByReason: Record<string, number> = {};
  const skip = (reason: string) => {
    skippedByReason[reason] = (skippedByReason[reason] ?? 0) + 1;
  };
  const filterOptions = {
    include: source.include,
    exclude: source.exclude,
    maxFileBytes: source.maxFileBytes ?? deps.maxFileBytes,
  };
  const filter = createPathFilter(filterOptions);
  const filterHash = createHash("sha256")
    .update(JSON.stringify({ v: FILTER_VERSION, ...filterOptions }))
    .digest("hex")
    .slice(0, 16);
  // Document frequencies left pending by a bulk load that died join the index first, so this
  // run's deletions subtract from complete counts.
  await mergePendingTermStats(db, source.id);
  // What the index holds: every document for a listing, only the changed paths for a diff
  // (an incremental plan reads what changed, not the whole source).
  let indexed = new Map<string, IndexedDocument>();
  const items = new Map<string, PlanItem>();
  const upsert = (entry: { path: string; blobSha: string; size: number }) =>
    items.set(entry.path, {
      path: entry.path,
      action: "upsert",
      blobSha: entry.blobSha,
      size: entry.size,
    });
  const remove = (path: string) => {
    if (indexed.has(path)) items.set(path, { path, action: "delete", blobSha: null, size: null });
  };
  const consider = (entry: { path: string; blobSha: string; size: number }) => {
    const verdict = filter(entry.path, entry.size);
    if (!verdict.ok) {
      skip(verdict.reason);
      remove(entry.path);
      return;
    }
    const known = indexed.get(entry.path);
    if (known && known.blobSha === entry.blobSha && known.configHash === configHash) {
      skip("unchanged");
      return;
    }
    upsert(entry);
  };

  let mode: "full" | "incremental" = run.requestedMode;
  let toCommit: string | null = null;
  if (head.state === "empty") {
    notes.push("the repository has no commits: every indexed document is removed");
    indexed = await indexedDocuments(db, source.id);
    for (const path of indexed.keys()) remove(path);
  } else {
    toCommit = head.commit;
    if (mode === "incremental" && !source.cursorCommit) {
      mode = "full";
      notes.push("first sync of this source: full");
    }
    if (
      mode === "incremental" &&
      source.cursorFilterHash &&
      source.cursorFilterHash !== filterHash
    ) {
      mode = "full";
      notes.push("include/exclude or size filters changed: full sync");
    }
    if (mode === "incremental" && source.cursorBranch && source.cursorBranch !== head.branch) {
      mode = "full";
      notes.push(`branch changed from ${source.cursorBranch} to ${head.branch}: full sync`);
    }
    let changes: Change[] | undefined;
    if (mode === "incremental" && source.cursorCommit) {
      try {
        changes =
          source.cursorCommit === head.commit
            ? []
            : await reader.diff(source.cursorCommit, head.commit);
      } catch (error) {
        if (!(error instanceof BallastError) || error.code !== "cursor_missing") throw error;
        mode = "full";
        notes.push(
          `previous commit ${source.cursorCommit.slice(0, 12)} is gone (history rewritten by a force-push?): full sync`,
        );
        log.warn(
          { runId: run.id, cursor: source.cursorCommit },
          "cursor missing; falling back to a full sync",
        );
      }
    }
    if (changes) {
      indexed = await indexedDocuments(
        db,
        source.id,
        changes.flatMap((c) => (c.type === "renamed" ? [c.path, c.oldPath] : [c.path])),
      );
      for (const change of changes) {
        if (change.type === "removed") remove(change.path);
        else {
          if (change.type === "renamed") remove(change.oldPath);
          consider(change);
        }
      }
      await addStaleAndFailed(db, source.id, configHash, items, upsert);
    } else {
      indexed = await indexedDocuments(db, source.id);
      const listing: FileEntry[] = await reader.listFiles(head.commit);
      const present = new Set<string>();
      for (const entry of listing) {
        present.add(entry.path);
        consider(entry);
      }
      for (const path of indexed.keys()) if (!present.has(path)) remove(path);
    }
  }

  // Upserts first, deletes last: a renamed file's new path can then reuse the vectors of
  // its old path before they are deleted (when batches run in order, as in the CLI).
  const planned = [...items.values()].sort(
    (a, b) =>
      (a.action === b.action ? 0 : a.action === "upsert" ? -1 : 1) ||
      (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
  );
  const batchSize = deps.batchSize;
  const batches = Math.ceil(planned.length / batchSize);
  const upserts = planned.filter((i) => i.action === "upsert").length;
  // EMBEDDING_MODE=off: a plan with documents to embed fails now, permanently, before anything
  // is written (no items, so no document is failed or dead-lettered for it).
  if (upserts > 0 && deps.embedder.mode === "off")
    throw new EmbeddingOffError(deps.embedder.provider);
  const bulkLoad =
    upserts >= (deps.bulkLoadMinDocuments ?? BULK_LOAD_MIN_DOCUMENTS) &&
    upserts >= BULK_LOAD_MIN_SHARE * (await documentsInSpace(db, deps, source.id));
  // Only this source's index: the other sources' are neither dropped nor rebuilt.
  const target = {
    space: deps.embedder.space,
    dimensions: deps.embedder.dimensions,
    sourceId: source.id,
  };
  if (bulkLoad) {
    await dropVectorIndex(db, target);
    notes.push(`bulk load of ${upserts} documents: this source's vector index built at the end`);
  } else {
    await ensureVectorIndex(db, target, {
      maintenanceWorkMem: deps.indexBuildMemory,
      concurrently: deps.concurrentIndexBuilds,
      minChunks: deps.vectorIndexMinChunks,
    });
  }

  const now = new Date();
  await db.transaction(async (tx) => {
    const t = tx as unknown as Database;
    for (let offset = 0; offset < planned.length; offset += 1000) {
      const slice = planned.slice(offset, offset + 1000);
      await t
        .insert(syncRunItems)
        .values(
          slice.map((item, i) => ({
            runId: run.id,
            ...item,
            batch: Math.floor((offset + i) / batchSize),
          })),
        )
        .onConflictDoNothing();
    }
    await t
      .update(syncRuns)
      .set({
        mode,
        toCommit,
        fromCommit: mode === "incremental" ? source.cursorCommit : null,
        branch: head.state === "ok" ? head.branch : null,
        configHash,
        filterHash,
        embeddingSpace: deps.embedder.space,
        bulkLoad,
        batchesTotal: batches,
        planned: planned.length,
        skippedByReason,
        note: [run.note, ...notes].filter(Boolean).join("; ") || null,
        plannedAt: now,
        heartbeatAt: now,
        updatedAt: now,
      })
      .where(eq(syncRuns.id, run.id));
    await recordPlan(t, deps, run, {
      mode,
      requestedMode: run.requestedMode,
      cursorBefore: {
        commit: source.cursorCommit,
        branch: source.cursorBranch,
        filterHash: source.cursorFilterHash,
      },
      toCommit,
      branch: head.state === "ok" ? head.branch : null,
      configHash,
      filterHash,
      notes,
      skippedByReason,
      planned: planned.map((item) => [item.path, item.action, item.blobSha]),
      batches,
      bulkLoad,
      ms: performance.now() - started,
    });
    await notifyRunProgress(t, run.id);
  });
  log.info(
    { runId: run.id, source: source.name, mode, planned: planned.length, batches, bulkLoad },
    "sync planned",
  );
  const fresh = await getRun(db, run.id);
  return {
    state: "planned",
    runId: run.id,
    batches: fresh.batchesTotal,
    planned: fresh.planned,
    mode,
  };
}

interface IndexedDocument {
  blobSha: string | null;
  configHash: string;
}

/** The source's indexed documents: all of them, or those at `paths`. */
async function indexedDocuments(
  db: Database,
  sourceId: string,
  paths?: string[],
): Promise<Map<string, IndexedDocument>> {
  if (paths?.length === 0) return new Map();
  const rows = await db
    .select({ path: documents.path, blobSha: documents.blobSha, configHash: documents.configHash })
    .from(documents)
    .where(
      and(
        eq(documents.sourceId, sourceId),
        // One array parameter, however many paths a diff names (a list would hit the
        // protocol's 65,535-parameter limit on a large merge).
        paths ? sql`${documents.path} = any(${sql.param([...new Set(paths)])}::text[])` : undefined,
      ),
    );
  return new Map(rows.map((r) => [r.path, { blobSha: r.blobSha, configHash: r.configHash }]));
}

/**
 * An incremental plan also covers documents indexed under another configuration (chunking
 * or embedding changed) and dead-lettered documents released for another attempt.
 */
async function addStaleAndFailed(
  db: Database,
  sourceId: string,
  configHash: string,
  items: Map<string, PlanItem>,
  upsert: (entry: { path: string; blobSha: string; size: number }) => void,
): Promise<void> {
  const stale = await db
    .select({ path: documents.path, blobSha: documents.blobSha, size: documents.byteSize })
    .from(documents)
    .where(and(eq(documents.sourceId, sourceId), sql`${documents.configHash} <> ${configHash}`));
  for (const doc of stale)
    if (!items.has(doc.path) && doc.blobSha)
      upsert({ path: doc.path, blobSha: doc.blobSha, size: doc.size });
  // Dead-letter entries released for another attempt (by error-recovery or an operator).
  const failed = await releasedDocuments(db, sourceId);
  for (const doc of failed) {
    if (!doc.path) continue;
    if (items.has(doc.path) || !doc.blobSha) continue;
    upsert({ path: doc.path, blobSha: doc.blobSha, size: 0 });
  }
}

async function documentsInSpace(
  db: Database,
  deps: PipelineDeps,
  sourceId: string,
): Promise<number> {
  const [row] = rowsOf<{ n: number }>(
    await db.execute(
      sql`select count(distinct document_id)::int as n from chunks where source_id = ${sourceId} and embedding_space = ${deps.embedder.space}`,
    ),
  );
  return Number(row?.n ?? 0);
}
