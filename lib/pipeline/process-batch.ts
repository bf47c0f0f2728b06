import { createHash } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { syncRunItems, syncRuns } from "../../db/schema";
import { type Chunk, chunkDocument, detectLanguage } from "../chunking";
import { BallastError, BreakerOpenError, errorMessage } from "../errors";
import { chunkLexemes } from "../index/lexical";
import {
  type ChunkRow,
  chunksOfDocuments,
  type DocumentRow,
  deleteChunks,
  deleteDocuments,
  documentsByPath,
  type ExistingChunk,
  insertChunks,
  type MovedChunk,
  reusableVectors,
  updateBlobShas,
  updateChunkPositions,
  upsertDocuments,
} from "../index/write";
import { type BatchDocument, recordBatch, short } from "../ledger/pipeline";
import { classifyError, isRetryableError as isRetryable } from "../resilience/retry";
import { inspectContent } from "../sources/filter";
import { batchReader, chunkId, indexConfigHash, type PipelineDeps } from "./deps";
import { notifyRunProgress, RUN_PROGRESS_CHANNEL } from "./run-notify";
import { getRun, isFinished, pendingItemCount, type RunRecord } from "./runs";
import { getSource, type SourceRecord } from "./source-records";

export interface BatchOutcome {
  runId: string;
  batch: number;
  /** The run had already ended (cancelled, failed, superseded): nothing was done. */
  runEnded: boolean;
  processed: number;
  skipped: number;
  failed: number;
  deleted: number;
  chunksEmbedded: number;
  /** Items of the whole run still pending after this batch. */
  pendingInRun: number;
  /**
   * A dependency's circuit breaker was open: nothing was written, the batch's items stay
   * pending, and the workflow sleeps until `retryAt` before trying again.
   */
  blocked?: { dependency: string; retryAt: number; message: string };
}

type ItemRow = typeof syncRunItems.$inferSelect;

interface ItemResult {
  path: string;
  status: "done" | "skipped" | "failed";
  reason?: string;
  error?: string;
  errorClass?: string;
  dependency?: string;
  chunksWritten: number;
  chunksEmbedded: number;
  chunksReused: number;
  chunksDeleted: number;
  tokens: number;
  costUsd: number;
}

const result = (
  path: string,
  fields: Partial<ItemResult> & Pick<ItemResult, "status">,
): ItemResult => ({
  path,
  chunksWritten: 0,
  chunksEmbedded: 0,
  chunksReused: 0,
  chunksDeleted: 0,
  tokens: 0,
  costUsd: 0,
  ...fields,
});

type KnownDocument =
  Awaited<ReturnType<typeof documentsByPath>> extends Map<string, infer D> ? D : never;
type IdentifiedChunk = Chunk & { id: string };

interface PreparedDocument {
  item: ItemRow;
  row: Omit<DocumentRow, "chunkCount">;
  chunks: IdentifiedChunk[];
}

/** What reading and chunking the batch decided, before any vector is looked at. */
interface Prepared {
  documents: PreparedDocument[];
  /** Items already settled: skipped (with a reason) or failed. */
  settled: ItemResult[];
  /** Paths whose indexed document goes away (deleted, now binary, vanished). */
  toDelete: Set<string>;
  /** Unchanged documents whose blob id moved (same bytes under another id). */
  blobShaUpdates: { path: string; blobSha: string }[];
}

/** Vectors for every new chunk, by content hash, and what producing them cost. */
interface Vectors {
  /** Embedded now (values), or reused from the index (pgvector text). */
  byHash: Map<string, Float32Array | string>;
  embeddedHashes: Set<string>;
  tokensByHash: Map<string, number>;
  /** Provider-reported tokens ÷ our count, to bill documents what the provider billed. */
  tokenScale: number;
  /** Documents whose vectors could not be made (a non-retryable provider error). */
  failed: Map<string, { error: string; errorClass: string; dependency?: string }>;
  /** What embedding cost: calls to the embedder, texts, tokens, provider requests and retries. */
  usage: { calls: number; texts: number; tokens: number; requests: number; retries: number };
}

interface Writes {
  documents: DocumentRow[];
  chunks: Omit<ChunkRow, "documentId">[];
  moved: MovedChunk[];
  staleChunkIds: string[];
  /** Per document: the stale chunk ids deleted (for the ledger). */
  staleByPath: Map<string, string[]>;
  results: ItemResult[];
}

/** Latency of a batch's phases, for the ledger. */
interface BatchTimings {
  started: number;
  read: number;
  embed: number;
}

/**
 * Step 2 of a sync, once per batch: fetch, filter, chunk, hash, skip what is unchanged,
 * embed only chunks with no vector yet, then write documents, chunks and deletions in one
 * transaction. A document that fails is recorded and does not fail the batch; a failure
 * that a retry can fix (provider down, database unreachable) throws before anything is
 * written, so the whole batch can be retried safely. Idempotent: done items are skipped.
 */
export async function processBatch(
  deps: PipelineDeps,
  runId: string,
  batch: number,
): Promise<BatchOutcome> {
  const { db } = deps;
  const outcome: BatchOutcome = {
    runId,
    batch,
    runEnded: false,
    processed: 0,
    skipped: 0,
    failed: 0,
    deleted: 0,
    chunksEmbedded: 0,
    pendingInRun: 0,
  };
  const run = await claimBatchRun(db, runId);
  if (isFinished(run.status)) return { ...outcome, runEnded: true };
  // One statement: the batch's pending items, each with its attempt counted.
  const items = await db
    .update(syncRunItems)
    .set({ attempts: sql`${syncRunItems.attempts} + 1` })
    .where(
      and(
        eq(syncRunItems.runId, runId),
        eq(syncRunItems.batch, batch),
        eq(syncRunItems.status, "pending"),
      ),
    )
    .returning();
  if (items.length === 0) return { ...outcome, pendingInRun: await pendingItemCount(db, runId) };

  try {
    return await processItems(deps, run, items, outcome);
  } catch (error) {
    if (!(error instanceof BreakerOpenError)) throw error;
    return {
      ...outcome,
      blocked: { dependency: error.dependency, retryAt: error.retryAt, message: error.message },
      pendingInRun: await pendingItemCount(db, runId),
    };
  }
}

async function processItems(
  deps: PipelineDeps,
  run: RunRecord,
  items: ItemRow[],
  outcome: BatchOutcome,
): Promise<BatchOutcome> {
  const { db } = deps;
  const runId = run.id;
  const source = await getSource(db, run.sourceId);
  const upserts = items.filter((i) => i.action === "upsert");
  const known = await documentsByPath(
    db,
    source.id,
    upserts.map((i) => i.path),
  );
  const started = performance.now();
  const prepared = await readAndChunk(deps, run, source, items, known);
  const readDone = performance.now();
  const stored = await chunksOfDocuments(
    db,
    prepared.documents.map((d) => known.get(d.item.path)?.id).filter((id): id is string => !!id),
  );
  const storedById = new Map(stored.map((c) => [c.id, c]));
  const vectors = await vectorsForNewChunks(deps, prepared.documents, storedById, {
    runId,
    batch: outcome.batch,
  });
  const timings: BatchTimings = {
    started,
    read: readDone - started,
    embed: performance.now() - readDone,
  };
  const writes = assembleWrites(
    deps,
    source,
    prepared.documents,
    known,
    stored,
    storedById,
    vectors,
  );
  const results = await writeBatch(
    deps,
    run,
    outcome.batch,
    items,
    prepared,
    writes,
    vectors,
    timings,
  );

  const actions = new Map(items.map((i) => [i.path, i.action]));
  for (const r of results) {
    if (r.status === "failed") outcome.failed++;
    else if (r.status === "skipped") outcome.skipped++;
    else if (actions.get(r.path) === "delete") outcome.deleted++;
    else outcome.processed++;
    outcome.chunksEmbedded += r.chunksEmbedded;
  }
  outcome.pendingInRun = await pendingItemCount(db, runId);
  return outcome;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The run, with its heartbeat taken when it is running (one statement in the usual case;
 * getRun when it is not running, to say why).
 */
async function claimBatchRun(db: Database, runId: string): Promise<RunRecord> {
  if (!UUID.test(runId)) return getRun(db, runId);
  const [running] = await db
    .update(syncRuns)
    .set({ heartbeatAt: new Date() })
    .where(and(eq(syncRuns.id, runId), eq(syncRuns.status, "running")))
    .returning();
  return running ?? getRun(db, runId);
}

/** Reads the batch's blobs, drops what cannot or need not be indexed, and chunks the rest. */
async function readAndChunk(
  deps: PipelineDeps,
  run: RunRecord,
  source: SourceRecord,
  items: ItemRow[],
  known: Map<string, KnownDocument>,
): Promise<Prepared> {
  const configHash = run.configHash ?? indexConfigHash(deps);
  const prepared: Prepared = {
    documents: [],
    settled: [],
    toDelete: new Set(),
    blobShaUpdates: [],
  };
  const upserts: (ItemRow & { blobSha: string })[] = [];
  for (const item of items) {
    if (item.action === "delete") prepared.toDelete.add(item.path);
    else if (item.blobSha) upserts.push({ ...item, blobSha: item.blobSha });
    else
      prepared.settled.push(
        result(item.path, {
          status: "failed",
          error: "the plan has no blob id for this file",
          errorClass: "internal",
        }),
      );
  }
  const blobs = await batchReader(deps, run.id, source).readBlobs(
    upserts.map((i) => ({ path: i.path, blobSha: i.blobSha })),
  );

  for (const item of upserts) {
    const indexed = known.get(item.path);
    const skip = (reason: string) => {
      if (indexed) prepared.toDelete.add(item.path);
      prepared.settled.push(result(item.path, { status: "skipped", reason }));
    };
    const bytes = blobs.get(item.path) ?? null;
    if (bytes === null) {
      skip("vanished");
      continue;
    }
    const content = inspectContent(bytes);
    if (!content.ok) {
      skip(content.reason);
      continue;
    }
    const contentHash = createHash("sha256").update(bytes).digest("hex");
    if (indexed && indexed.contentHash === contentHash && indexed.configHash === configHash) {
      if (indexed.blobSha !== item.blobSha)
        prepared.blobShaUpdates.push({ path: item.path, blobSha: item.blobSha });
      prepared.settled.push(result(item.path, { status: "skipped", reason: "unchanged" }));
      continue;
    }
    try {
      const seen = new Map<string, number>();
      const chunks = chunkDocument(item.path, content.text, deps.chunking).map((chunk) => {
        const occurrence = seen.get(chunk.contentHash) ?? 0;
        seen.set(chunk.contentHash, occurrence + 1);
        return {
          ...chunk,
          id: chunkId(source.id, item.path, configHash, chunk.contentHash, occurrence),
        };
      });
      prepared.documents.push({
        item,
        row: {
          sourceId: source.id,
          path: item.path,
          blobSha: item.blobSha,
          contentHash,
          configHash,
          commitSha: run.toCommit,
          language: detectLanguage(item.path) ?? null,
          byteSize: bytes.byteLength,
          lineCount: content.text.length === 0 ? 0 : content.text.split("\n").length,
          lossy: content.lossy,
        },
        chunks,
      });
    } catch (error) {
      prepared.settled.push(
        result(item.path, {
          status: "failed",
          error: `chunking failed: ${errorMessage(error)}`,
          errorClass: "internal",
        }),
      );
    }
  }
  return prepared;
}

/**
 * Vectors for the chunks not already stored under their id: reused from any chunk of the
 * same content in this space (renames, moves, copies), else embedded once per distinct text.
 */
async function vectorsForNewChunks(
  deps: PipelineDeps,
  documents: PreparedDocument[],
  storedById: Map<string, ExistingChunk>,
  context: { runId: string; batch: number },
): Promise<Vectors> {
  const { db, embedder, log } = deps;
  const newChunks = documents.flatMap((d) => d.chunks.filter((c) => !storedById.has(c.id)));
  const tokensByHash = new Map<string, number>();
  for (const chunk of newChunks)
    if (!tokensByHash.has(chunk.contentHash))
      tokensByHash.set(chunk.contentHash, embedder.countTokens(chunk.content));
  const reusable = await reusableVectors(db, embedder.space, [...tokensByHash.keys()]);
  const toEmbed = [
    ...new Map(
      newChunks.filter((c) => !reusable.has(c.contentHash)).map((c) => [c.contentHash, c]),
    ).values(),
  ];
  const vectors: Vectors = {
    byHash: new Map<string, Float32Array | string>(reusable),
    embeddedHashes: new Set(),
    tokensByHash,
    tokenScale: 1,
    failed: new Map(),
    usage: { calls: 0, texts: 0, tokens: 0, requests: 0, retries: 0 },
  };
  if (toEmbed.length === 0) return vectors;
  vectors.usage.calls = 1;
  vectors.usage.texts = toEmbed.length;
  try {
    const embedded = await embedder.embedDocuments(toEmbed.map((c) => c.content));
    vectors.usage.tokens = embedded.usage.tokens;
    vectors.usage.requests = embedded.usage.requests;
    vectors.usage.retries = embedded.usage.retries;
    toEmbed.forEach((chunk, i) => {
      const vector = embedded.vectors[i];
      if (!vector)
        throw new BallastError(
          "embedding_incomplete",
          `the embedder returned no vector for chunk ${i}`,
          502,
          true,
        );
      vectors.byHash.set(chunk.contentHash, vector);
      vectors.embeddedHashes.add(chunk.contentHash);
    });
    const counted = toEmbed.reduce((sum, c) => sum + (tokensByHash.get(c.contentHash) ?? 0), 0);
    if (counted > 0 && embedded.usage.tokens > 0)
      vectors.tokenScale = embedded.usage.tokens / counted;
  } catch (error) {
    if (isRetryable(error)) throw error; // nothing written yet: the whole batch is retried
    const missing = new Set(toEmbed.map((c) => c.contentHash));
    const verdict = classifyError(error);
    for (const doc of documents)
      if (doc.chunks.some((c) => !storedById.has(c.id) && missing.has(c.contentHash)))
        vectors.failed.set(doc.item.path, {
          error: `embedding failed: ${errorMessage(error)}`,
          errorClass: verdict.errorClass,
          dependency: `embedding:${embedder.provider}`,
        });
    log.warn({ ...context, err: error }, "embedding failed with a non-retryable error");
  }
  return vectors;
}

/** Rows to write per document: new chunks, moved chunks, stale chunks, and its item result. */
function assembleWrites(
  deps: PipelineDeps,
  source: SourceRecord,
  documents: PreparedDocument[],
  known: Map<string, KnownDocument>,
  stored: ExistingChunk[],
  storedById: Map<string, ExistingChunk>,
  vectors: Vectors,
): Writes {
  const { embedder } = deps;
  const writes: Writes = {
    documents: [],
    chunks: [],
    moved: [],
    staleChunkIds: [],
    staleByPath: new Map(),
    results: [],
  };
  const storedByDocument = new Map<string, ExistingChunk[]>();
  for (const chunk of stored) {
    const list = storedByDocument.get(chunk.documentId);
    if (list) list.push(chunk);
    else storedByDocument.set(chunk.documentId, [chunk]);
  }
  const billed = new Set<string>();
  for (const doc of documents) {
    const path = doc.item.path;
    const failure = vectors.failed.get(path);
    if (failure) {
      writes.results.push(result(path, { status: "failed", ...failure }));
      continue;
    }
    const keep = new Set(doc.chunks.map((c) => c.id));
    const documentId = known.get(path)?.id;
    const stale = (documentId ? (storedByDocument.get(documentId) ?? []) : [])
      .filter((c) => !keep.has(c.id))
      .map((c) => c.id);
    writes.staleChunkIds.push(...stale);
    if (stale.length > 0) writes.staleByPath.set(path, stale);
    let embedded = 0;
    let reused = 0;
    let tokens = 0;
    for (const chunk of doc.chunks) {
      const heading = chunk.heading ?? null;
      const previous = storedById.get(chunk.id);
      if (previous) {
        const moved =
          previous.ordinal !== chunk.ordinal ||
          previous.startLine !== chunk.startLine ||
          previous.endLine !== chunk.endLine ||
          previous.heading !== heading;
        if (moved) {
          const lexemes =
            previous.heading !== heading ? chunkLexemes(chunk.content, path, heading) : undefined;
          writes.moved.push({
            ...previous,
            sourceId: source.id,
            ordinal: chunk.ordinal,
            startLine: chunk.startLine,
            endLine: chunk.endLine,
            heading,
            ...(lexemes ? { lexemes: { tsvector: lexemes.tsvector, list: lexemes.lexemes } } : {}),
          });
        }
        continue;
      }
      const embedding = vectors.byHash.get(chunk.contentHash);
      if (!embedding)
        throw new BallastError(
          "vector_missing",
          `no vector for chunk ${chunk.id} of ${path}`,
          500,
          true,
        );
      const chunkTokens = vectors.tokensByHash.get(chunk.contentHash) ?? 0;
      // The first chunk with this content in the batch paid for it; later copies reuse it.
      if (vectors.embeddedHashes.has(chunk.contentHash) && !billed.has(chunk.contentHash)) {
        billed.add(chunk.contentHash);
        embedded++;
        tokens += chunkTokens;
      } else reused++;
      const lexical = chunkLexemes(chunk.content, path, heading);
      writes.chunks.push({
        id: chunk.id,
        sourceId: source.id,
        path,
        ordinal: chunk.ordinal,
        startLine: chunk.startLine,
        endLine: chunk.endLine,
        kind: chunk.kind,
        heading,
        content: chunk.content,
        contentHash: chunk.contentHash,
        tokenCount: chunkTokens,
        embeddingSpace: embedder.space,
        dims: embedder.dimensions,
        embedding,
        lexemes: lexical.tsvector,
        lexemeList: lexical.lexemes,
        lexemeWeights: lexical.weights,
      });
    }
    const billedTokens = Math.round(tokens * vectors.tokenScale);
    writes.documents.push({ ...doc.row, chunkCount: doc.chunks.length });
    writes.results.push(
      result(path, {
        status: "done",
        chunksWritten: embedded + reused,
        chunksEmbedded: embedded,
        chunksReused: reused,
        chunksDeleted: stale.length,
        tokens: billedTokens,
        costUsd: embedder.costUsd(billedTokens),
      }),
    );
  }
  return writes;
}

/** One transaction: documents, chunks, moves, deletions, the items' results and the ledger entry. */
async function writeBatch(
  deps: PipelineDeps,
  run: RunRecord,
  batch: number,
  items: ItemRow[],
  prepared: Prepared,
  writes: Writes,
  vectors: Vectors,
  timings: BatchTimings,
): Promise<ItemResult[]> {
  const { db } = deps;
  const runId = run.id;
  const sourceId = run.sourceId;
  const results = [...prepared.settled, ...writes.results];
  await db.transaction(async (tx) => {
    const t = tx as unknown as Database;
    const writeStarted = performance.now();
    const ids = await upsertDocuments(t, writes.documents);
    await deleteChunks(t, writes.staleChunkIds);
    await insertChunks(
      t,
      writes.chunks.map((row) => {
        const documentId = ids.get(row.path);
        if (!documentId) throw new Error(`document id missing for ${row.path}`);
        return { ...row, documentId };
      }),
      // A bulk load's document frequencies are merged once, when the run completes.
      { deferStats: run.bulkLoad },
    );
    await updateChunkPositions(t, writes.moved);
    await updateBlobShas(t, sourceId, prepared.blobShaUpdates);
    const deleted = await deleteDocuments(t, sourceId, [...prepared.toDelete]);
    for (const r of results)
      if (r.status === "skipped" && prepared.toDelete.has(r.path))
        r.chunksDeleted = deleted.get(r.path) ?? 0;
    for (const item of items)
      if (item.action === "delete")
        results.push(
          result(item.path, { status: "done", chunksDeleted: deleted.get(item.path) ?? 0 }),
        );
    if (results.length > 0) await recordItemResults(t, runId, results);
    else await notifyRunProgress(t, runId);
    if (deps.ledger?.enabled !== false)
      await recordBatch(t, deps, run, {
        batch,
        documents: ledgerDocuments(items, prepared, writes, results),
        embedding: vectors.usage,
        ms: {
          read: timings.read,
          embed: timings.embed,
          write: performance.now() - writeStarted,
        },
      });
  });
  return results;
}

/** The batch's documents as the ledger records them: outcomes, hashes, chunks written and deleted. */
function ledgerDocuments(
  items: ItemRow[],
  prepared: Prepared,
  writes: Writes,
  results: ItemResult[],
): BatchDocument[] {
  const item = new Map(items.map((i) => [i.path, i]));
  const doc = new Map(prepared.documents.map((d) => [d.item.path, d]));
  const written = new Map<string, string[]>();
  for (const chunk of writes.chunks) {
    const list = written.get(chunk.path);
    if (list) list.push(short(chunk.id));
    else written.set(chunk.path, [short(chunk.id)]);
  }
  return results
    .map((r): BatchDocument => {
      const prepared = r.status === "done" ? doc.get(r.path) : undefined;
      const planned = item.get(r.path);
      return {
        path: r.path,
        action: planned?.action ?? "upsert",
        status: r.status,
        ...(r.reason ? { reason: r.reason } : {}),
        ...(r.error ? { error: r.error.slice(0, 500) } : {}),
        blobSha: planned?.blobSha ?? null,
        ...(prepared
          ? {
              contentHash: prepared.row.contentHash,
              chunks: prepared.chunks.map((c) => short(c.contentHash)),
              written: written.get(r.path) ?? [],
              deleted: (writes.staleByPath.get(r.path) ?? []).map(short),
            }
          : {}),
        chunksDeleted: r.chunksDeleted,
        chunksEmbedded: r.chunksEmbedded,
        tokens: r.tokens,
      };
    })
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The items' results, and the run's progress notification (notifyRunProgress), in one statement. */
async function recordItemResults(
  db: Database,
  runId: string,
  results: ItemResult[],
): Promise<void> {
  const col = <K extends keyof ItemResult>(key: K) => sql.param(results.map((r) => r[key] ?? null));
  await db.execute(sql`
    with recorded as (update ${syncRunItems} i set status = t.status, reason = t.reason, error = t.error,
      error_class = t.error_class, dependency = t.dependency,
      chunks_written = t.chunks_written, chunks_embedded = t.chunks_embedded, chunks_reused = t.chunks_reused,
      chunks_deleted = t.chunks_deleted, tokens = t.tokens, cost_usd = t.cost_usd, finished_at = now()
    from unnest(${col("path")}::text[], ${col("status")}::text[], ${col("reason")}::text[], ${col("error")}::text[],
                ${col("errorClass")}::text[], ${col("dependency")}::text[],
                ${col("chunksWritten")}::int[], ${col("chunksEmbedded")}::int[], ${col("chunksReused")}::int[],
                ${col("chunksDeleted")}::int[], ${col("tokens")}::int[], ${col("costUsd")}::float8[])
      as t(path, status, reason, error, error_class, dependency, chunks_written, chunks_embedded, chunks_reused, chunks_deleted, tokens, cost_usd)
    where i.run_id = ${runId} and i.path = t.path and i.status = 'pending'
    returning 1)
    select pg_notify(${RUN_PROGRESS_CHANNEL}, ${runId})`);
}
