import { createHash } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { syncRunItems } from "../../db/schema";
import { type Chunk, chunkDocument, detectLanguage } from "../chunking";
import { BallastError, errorMessage, isRetryable } from "../errors";
import {
  type ChunkRow,
  chunksOfDocuments,
  type DocumentRow,
  deleteChunks,
  deleteDocuments,
  documentsByPath,
  type ExistingChunk,
  insertChunks,
  reusableVectors,
  updateBlobShas,
  updateChunkPositions,
  upsertDocuments,
  vectorLiteral,
} from "../index/write";
import { inspectContent } from "../sources/filter";
import { chunkId, indexConfigHash, type PipelineDeps, readerFor } from "./deps";
import { getRun, heartbeat, isFinished, pendingItemCount } from "./runs";
import { getSource } from "./source-records";

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
}

type ItemRow = typeof syncRunItems.$inferSelect;

interface ItemResult {
  path: string;
  status: "done" | "skipped" | "failed";
  reason?: string;
  error?: string;
  chunksWritten: number;
  chunksEmbedded: number;
  chunksReused: number;
  chunksDeleted: number;
  tokens: number;
  costUsd: number;
}

interface PreparedDocument {
  item: ItemRow;
  row: Omit<DocumentRow, "chunkCount">;
  chunks: (Chunk & { id: string })[];
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
  const { db, embedder, log } = deps;
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
  const run = await getRun(db, runId);
  if (isFinished(run.status)) return { ...outcome, runEnded: true };
  await heartbeat(db, runId);
  const items = await db
    .select()
    .from(syncRunItems)
    .where(
      and(
        eq(syncRunItems.runId, runId),
        eq(syncRunItems.batch, batch),
        eq(syncRunItems.status, "pending"),
      ),
    );
  if (items.length === 0) return { ...outcome, pendingInRun: await pendingItemCount(db, runId) };
  await db.execute(
    sql`update ${syncRunItems} set attempts = attempts + 1 where run_id = ${runId} and batch = ${batch} and status = 'pending'`,
  );

  const source = await getSource(db, run.sourceId);
  const configHash = run.configHash ?? indexConfigHash(deps);
  const results: ItemResult[] = [];
  const toDelete = new Set<string>();
  const blobShaUpdates: { path: string; blobSha: string }[] = [];

  const upserts = items.filter((i) => i.action === "upsert" && i.blobSha);
  for (const item of items) {
    if (item.action === "delete") toDelete.add(item.path);
    else if (!item.blobSha)
      results.push(
        result(item.path, { status: "failed", error: "the plan has no blob id for this file" }),
      );
  }
  const existing = await documentsByPath(
    db,
    source.id,
    upserts.map((i) => i.path),
  );
  const blobs = await readerFor(deps, source).readBlobs(
    upserts.map((i) => ({ path: i.path, blobSha: i.blobSha ?? "" })),
  );

  const prepared: PreparedDocument[] = [];
  for (const item of upserts) {
    const known = existing.get(item.path);
    const bytes = blobs.get(item.path) ?? null;
    if (bytes === null) {
      if (known) toDelete.add(item.path);
      results.push(result(item.path, { status: "skipped", reason: "vanished" }));
      continue;
    }
    const content = inspectContent(bytes);
    if (!content.ok) {
      if (known) toDelete.add(item.path);
      results.push(result(item.path, { status: "skipped", reason: content.reason }));
      continue;
    }
    const contentHash = createHash("sha256").update(bytes).digest("hex");
    if (known && known.contentHash === contentHash && known.configHash === configHash) {
      if (item.blobSha && known.blobSha !== item.blobSha)
        blobShaUpdates.push({ path: item.path, blobSha: item.blobSha });
      results.push(result(item.path, { status: "skipped", reason: "unchanged" }));
      continue;
    }
    try {
      const chunks = chunkDocument(item.path, content.text, deps.chunking);
      const seen = new Map<string, number>();
      prepared.push({
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
        chunks: chunks.map((chunk) => {
          const occurrence = seen.get(chunk.contentHash) ?? 0;
          seen.set(chunk.contentHash, occurrence + 1);
          return {
            ...chunk,
            id: chunkId(source.id, item.path, configHash, chunk.contentHash, occurrence),
          };
        }),
      });
    } catch (error) {
      results.push(
        result(item.path, { status: "failed", error: `chunking failed: ${errorMessage(error)}` }),
      );
    }
  }

  // Which chunks need a vector: not already stored under the same id, not reusable by content.
  const existingChunks = await chunksOfDocuments(
    db,
    prepared.map((d) => existing.get(d.item.path)?.id).filter((id): id is string => !!id),
  );
  const storedById = new Map(existingChunks.map((c) => [c.id, c]));
  const newChunks = prepared.flatMap((d) => d.chunks.filter((c) => !storedById.has(c.id)));
  const reusable = await reusableVectors(db, embedder.space, [
    ...new Set(newChunks.map((c) => c.contentHash)),
  ]);
  const toEmbed = [
    ...new Map(
      newChunks.filter((c) => !reusable.has(c.contentHash)).map((c) => [c.contentHash, c]),
    ).values(),
  ];

  const vectors = new Map<string, string>(reusable);
  const embeddedHashes = new Set<string>();
  let tokenScale = 1;
  const failedPaths = new Map<string, string>();
  if (toEmbed.length > 0) {
    try {
      const embedded = await embedder.embedDocuments(toEmbed.map((c) => c.content));
      toEmbed.forEach((chunk, i) => {
        const vector = embedded.vectors[i];
        if (!vector) throw new Error(`embedder returned no vector for chunk ${i}`);
        vectors.set(chunk.contentHash, vectorLiteral(vector));
        embeddedHashes.add(chunk.contentHash);
      });
      const estimated = toEmbed.reduce((sum, c) => sum + embedder.countTokens(c.content), 0);
      tokenScale =
        estimated > 0 && embedded.usage.tokens > 0 ? embedded.usage.tokens / estimated : 1;
    } catch (error) {
      if (isRetryable(error)) throw error; // nothing written yet: the whole batch is retried
      for (const doc of prepared) {
        if (doc.chunks.some((c) => !storedById.has(c.id) && !reusable.has(c.contentHash)))
          failedPaths.set(doc.item.path, `embedding failed: ${errorMessage(error)}`);
      }
      log.warn({ runId, batch, err: error }, "embedding failed with a non-retryable error");
    }
  }

  const documentRows: DocumentRow[] = [];
  const chunkRows: Omit<ChunkRow, "documentId">[] = [];
  const moved: ExistingChunk[] = [];
  const staleChunkIds: string[] = [];
  const perDocument: ItemResult[] = [];
  const claimed = new Set<string>();
  for (const doc of prepared) {
    const path = doc.item.path;
    const failure = failedPaths.get(path);
    if (failure) {
      results.push(result(path, { status: "failed", error: failure }));
      continue;
    }
    const keep = new Set(doc.chunks.map((c) => c.id));
    const previous = existingChunks.filter((c) => c.documentId === existing.get(path)?.id);
    const stale = previous.filter((c) => !keep.has(c.id)).map((c) => c.id);
    staleChunkIds.push(...stale);
    let embeddedHere = 0;
    let reusedHere = 0;
    let tokens = 0;
    for (const chunk of doc.chunks) {
      const stored = storedById.get(chunk.id);
      if (stored) {
        if (
          stored.ordinal !== chunk.ordinal ||
          stored.startLine !== chunk.startLine ||
          stored.endLine !== chunk.endLine ||
          stored.heading !== (chunk.heading ?? null)
        )
          moved.push({
            id: chunk.id,
            documentId: stored.documentId,
            ordinal: chunk.ordinal,
            startLine: chunk.startLine,
            endLine: chunk.endLine,
            heading: chunk.heading ?? null,
          });
        continue;
      }
      const embedding = vectors.get(chunk.contentHash);
      if (!embedding)
        throw new BallastError(
          "vector_missing",
          `no vector for chunk ${chunk.id} of ${path}`,
          500,
          true,
        );
      const chunkTokens = embedder.countTokens(chunk.content);
      // The first chunk with this content in the batch paid for it; later copies reuse it.
      if (embeddedHashes.has(chunk.contentHash) && !claimed.has(chunk.contentHash)) {
        claimed.add(chunk.contentHash);
        embeddedHere++;
        tokens += chunkTokens;
      } else reusedHere++;
      chunkRows.push({
        id: chunk.id,
        sourceId: source.id,
        path,
        ordinal: chunk.ordinal,
        startLine: chunk.startLine,
        endLine: chunk.endLine,
        kind: chunk.kind,
        heading: chunk.heading ?? null,
        content: chunk.content,
        contentHash: chunk.contentHash,
        tokenCount: chunkTokens,
        embeddingSpace: embedder.space,
        dims: embedder.dimensions,
        embedding,
      });
    }
    const scaledTokens = Math.round(tokens * tokenScale);
    documentRows.push({ ...doc.row, chunkCount: doc.chunks.length });
    perDocument.push(
      result(path, {
        status: "done",
        chunksWritten: embeddedHere + reusedHere,
        chunksEmbedded: embeddedHere,
        chunksReused: reusedHere,
        chunksDeleted: stale.length,
        tokens: scaledTokens,
        costUsd: embedder.costUsd(scaledTokens),
      }),
    );
  }

  await db.transaction(async (tx) => {
    const t = tx as unknown as Database;
    const ids = await upsertDocuments(t, documentRows);
    await deleteChunks(t, staleChunkIds);
    await insertChunks(
      t,
      chunkRows.map((row) => {
        const documentId = ids.get(row.path);
        if (!documentId) throw new Error(`document id missing for ${row.path}`);
        return { ...row, documentId };
      }),
    );
    await updateChunkPositions(t, moved);
    await updateBlobShas(t, source.id, blobShaUpdates);
    const deletedCounts = await deleteDocuments(t, source.id, [...toDelete]);
    for (const item of items) {
      if (item.action !== "delete") continue;
      results.push(
        result(item.path, { status: "done", chunksDeleted: deletedCounts.get(item.path) ?? 0 }),
      );
    }
    for (const r of results) {
      if (r.status === "skipped" && toDelete.has(r.path))
        r.chunksDeleted = deletedCounts.get(r.path) ?? 0;
    }
    results.push(...perDocument);
    await recordItemResults(t, runId, results);
  });

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

async function recordItemResults(
  db: Database,
  runId: string,
  results: ItemResult[],
): Promise<void> {
  if (results.length === 0) return;
  const col = <K extends keyof ItemResult>(key: K) => sql.param(results.map((r) => r[key] ?? null));
  await db.execute(sql`
    update ${syncRunItems} i set status = t.status, reason = t.reason, error = t.error,
      chunks_written = t.chunks_written, chunks_embedded = t.chunks_embedded, chunks_reused = t.chunks_reused,
      chunks_deleted = t.chunks_deleted, tokens = t.tokens, cost_usd = t.cost_usd, finished_at = now()
    from unnest(${col("path")}::text[], ${col("status")}::text[], ${col("reason")}::text[], ${col("error")}::text[],
                ${col("chunksWritten")}::int[], ${col("chunksEmbedded")}::int[], ${col("chunksReused")}::int[],
                ${col("chunksDeleted")}::int[], ${col("tokens")}::int[], ${col("costUsd")}::float8[])
      as t(path, status, reason, error, chunks_written, chunks_embedded, chunks_reused, chunks_deleted, tokens, cost_usd)
    where i.run_id = ${runId} and i.path = t.path and i.status = 'pending'`);
}
