import { sql } from "drizzle-orm";
import { type BinaryCopy, binaryCopy, type Database, hasSqlState, rowsOf } from "../../db/client";
import { BinaryCopyWriter } from "./copy-binary";

/**
 * Set-based writes to the index. Every statement handles a whole batch at once (arrays
 * through `unnest`), because per-row statements dominate the cost on the embedded database;
 * the chunks themselves through binary COPY where the driver has it (insertChunks).
 */

export interface DocumentRow {
  sourceId: string;
  path: string;
  blobSha: string | null;
  contentHash: string;
  configHash: string;
  commitSha: string | null;
  language: string | null;
  byteSize: number;
  lineCount: number;
  chunkCount: number;
  lossy: boolean;
}

export interface ChunkRow {
  id: string;
  documentId: string;
  sourceId: string;
  path: string;
  ordinal: number;
  startLine: number;
  endLine: number;
  kind: string;
  heading: string | null;
  content: string;
  contentHash: string;
  tokenCount: number;
  embeddingSpace: string;
  dims: number;
  /** The vector: its values, or pgvector's text form `[0.1,0.2,…]` (a vector read back). */
  embedding: ArrayLike<number> | string;
  /** tsvector literal (lib/index/lexical.ts). */
  lexemes: string;
  /** Its distinct lexemes, for the document frequencies. */
  lexemeList: string[];
  /**
   * The weight label of each lexeme of `lexemeList` (chunkLexemes' `weights`). With it, the
   * embedded database loads the rows through binary COPY (see insertChunks).
   */
  lexemeWeights?: string;
}

export interface ExistingChunk {
  id: string;
  documentId: string;
  ordinal: number;
  startLine: number;
  endLine: number;
  heading: string | null;
}

/** One array-valued parameter (drizzle would otherwise expand an array into a list). */
const p = (values: unknown[]) => sql.param(values);

/** pgvector text → its values. */
export function parseVectorLiteral(text: string): number[] {
  const inner = text.trim();
  if (!inner.startsWith("[") || !inner.endsWith("]")) throw new RangeError("not a vector literal");
  return inner
    .slice(1, -1)
    .split(",")
    .map((v) => {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new RangeError("not a vector literal");
      return n;
    });
}

/** Float vector → pgvector text, rounded to 6 decimals (ample for cosine ranking, ~40% less to parse). */
export function vectorLiteral(vector: ArrayLike<number>): string {
  let out = "[";
  for (let i = 0; i < vector.length; i++) {
    if (i > 0) out += ",";
    out += Math.round((vector[i] ?? 0) * 1e6) / 1e6;
  }
  return `${out}]`;
}

export async function documentsByPath(db: Database, sourceId: string, paths: string[]) {
  if (paths.length === 0)
    return new Map<
      string,
      { id: string; contentHash: string; configHash: string; blobSha: string | null }
    >();
  const rows = rowsOf<{
    id: string;
    path: string;
    content_hash: string;
    config_hash: string;
    blob_sha: string | null;
  }>(
    await db.execute(sql`
      select id, path, content_hash, config_hash, blob_sha from documents
      where source_id = ${sourceId} and path = any(${p(paths)}::text[])`),
  );
  return new Map(
    rows.map((r) => [
      r.path,
      { id: r.id, contentHash: r.content_hash, configHash: r.config_hash, blobSha: r.blob_sha },
    ]),
  );
}

export async function chunksOfDocuments(
  db: Database,
  documentIds: string[],
): Promise<ExistingChunk[]> {
  if (documentIds.length === 0) return [];
  const rows = rowsOf<{
    id: string;
    document_id: string;
    ordinal: number;
    start_line: number;
    end_line: number;
    heading: string | null;
  }>(
    await db.execute(sql`
      select id, document_id, ordinal, start_line, end_line, heading from chunks
      where document_id = any(${p(documentIds)}::uuid[])`),
  );
  return rows.map((r) => ({
    id: r.id,
    documentId: r.document_id,
    ordinal: r.ordinal,
    startLine: r.start_line,
    endLine: r.end_line,
    heading: r.heading,
  }));
}

/** Vectors already in the index for these content hashes in this space (renamed, moved or duplicated text). */
export async function reusableVectors(
  db: Database,
  space: string,
  contentHashes: string[],
): Promise<Map<string, string>> {
  if (contentHashes.length === 0) return new Map();
  const rows = rowsOf<{ content_hash: string; embedding: string }>(
    await db.execute(sql`
      select distinct on (content_hash) content_hash, embedding::text as embedding from chunks
      where embedding_space = ${space} and content_hash = any(${p(contentHashes)}::text[])`),
  );
  return new Map(rows.map((r) => [r.content_hash, r.embedding]));
}

/** Inserts or updates documents by (source, path); returns path → id. */
export async function upsertDocuments(
  db: Database,
  rows: DocumentRow[],
): Promise<Map<string, string>> {
  if (rows.length === 0) return new Map();
  const col = <K extends keyof DocumentRow>(key: K) => rows.map((r) => r[key]);
  const result = rowsOf<{ id: string; path: string }>(
    await db.execute(sql`
      insert into documents (source_id, path, blob_sha, content_hash, config_hash, commit_sha, language, byte_size, line_count, chunk_count, lossy, indexed_at)
      select t.source_id, t.path, t.blob_sha, t.content_hash, t.config_hash, t.commit_sha, t.language, t.byte_size, t.line_count, t.chunk_count, t.lossy, now()
      from unnest(${p(col("sourceId"))}::uuid[], ${p(col("path"))}::text[], ${p(col("blobSha"))}::text[], ${p(col("contentHash"))}::text[],
                  ${p(col("configHash"))}::text[], ${p(col("commitSha"))}::text[], ${p(col("language"))}::text[], ${p(col("byteSize"))}::int[],
                  ${p(col("lineCount"))}::int[], ${p(col("chunkCount"))}::int[], ${p(col("lossy"))}::bool[])
        as t(source_id, path, blob_sha, content_hash, config_hash, commit_sha, language, byte_size, line_count, chunk_count, lossy)
      on conflict (source_id, path) do update set
        blob_sha = excluded.blob_sha, content_hash = excluded.content_hash, config_hash = excluded.config_hash,
        commit_sha = excluded.commit_sha, language = excluded.language, byte_size = excluded.byte_size,
        line_count = excluded.line_count, chunk_count = excluded.chunk_count, lossy = excluded.lossy, indexed_at = now()
      returning id, path`),
  );
  return new Map(result.map((r) => [r.path, r.id]));
}

/** Chunks per insert statement: a batch's chunks (about 5 per document) in one or two. */
const INSERT_SLICE = 2000;

/** The columns a chunk row is written with, in the order of both insert paths. */
const CHUNK_COLUMNS =
  "id, document_id, source_id, path, ordinal, start_line, end_line, kind, heading, content, content_hash, token_count, embedding_space, dims, embedding, lexemes";

/**
 * Inserts chunks (a chunk id already stored is left as it is) and adds the inserted chunks'
 * lexemes to their source's document frequencies.
 *
 * Two paths, one result. Rows that carry their lexeme weights go in through binary COPY (the
 * embedded database in this process or over its socket, and Postgres through node-postgres):
 * no vector or tsvector printed as text in JS and parsed again in Postgres, which was most of a
 * batch's write time (lib/index/copy-binary.ts). The COPY runs under a savepoint; if a chunk id
 * is already stored (COPY cannot skip conflicts), it is rolled back and those rows take the
 * other path: one `insert … select from unnest(arrays)` per slice, as on Neon's driver.
 */
export async function insertChunks(
  db: Database,
  rows: ChunkRow[],
  options: { deferStats?: boolean } = {},
): Promise<void> {
  if (rows.length === 0) return;
  const copy = binaryCopy(db);
  const binary = copy !== undefined && rows.every((r) => r.lexemeWeights !== undefined);
  // The savepoint needs a transaction: one is opened when the caller gave none.
  if (binary && !copy.inTransaction)
    return db.transaction((tx) => insertChunks(tx as unknown as Database, rows, options));
  const inserted: ChunkRow[] = [];
  for (let offset = 0; offset < rows.length; offset += INSERT_SLICE) {
    const slice = rows.slice(offset, offset + INSERT_SLICE);
    if (binary && copy && (await copyChunks(copy, slice))) inserted.push(...slice);
    else inserted.push(...(await insertChunkSlice(db, slice)));
  }
  await addTermStats(db, inserted, options.deferStats);
}

/** One `insert … select from unnest(…) on conflict do nothing`; returns the rows inserted. */
async function insertChunkSlice(db: Database, slice: ChunkRow[]): Promise<ChunkRow[]> {
  const col = <K extends keyof ChunkRow>(key: K) => slice.map((r) => r[key]);
  const embeddings = slice.map((r) =>
    typeof r.embedding === "string" ? r.embedding : vectorLiteral(r.embedding),
  );
  const ids = rowsOf<{ id: string }>(
    await db.execute(sql`
      insert into chunks (${sql.raw(CHUNK_COLUMNS)})
      select t.id, t.document_id, t.source_id, t.path, t.ordinal, t.start_line, t.end_line, t.kind, t.heading, t.content, t.content_hash,
             t.token_count, t.embedding_space, t.dims, t.embedding::vector, t.lexemes::tsvector
      from unnest(${p(col("id"))}::text[], ${p(col("documentId"))}::uuid[], ${p(col("sourceId"))}::uuid[], ${p(col("path"))}::text[],
                  ${p(col("ordinal"))}::int[], ${p(col("startLine"))}::int[], ${p(col("endLine"))}::int[], ${p(col("kind"))}::text[],
                  ${p(col("heading"))}::text[], ${p(col("content"))}::text[], ${p(col("contentHash"))}::text[], ${p(col("tokenCount"))}::int[],
                  ${p(col("embeddingSpace"))}::text[], ${p(col("dims"))}::int[], ${p(embeddings)}::text[], ${p(col("lexemes"))}::text[])
        as t(id, document_id, source_id, path, ordinal, start_line, end_line, kind, heading, content, content_hash, token_count, embedding_space, dims, embedding, lexemes)
      on conflict (id) do nothing
      returning id`),
  );
  if (ids.length === slice.length) return slice;
  const kept = new Set(ids.map((r) => r.id));
  return slice.filter((r) => kept.has(r.id));
}

const SAVEPOINT = "ballast_copy_chunks";

/**
 * The slice through binary COPY under a savepoint. True when every row went in; false when a
 * chunk id was already stored (nothing of the slice written: the caller inserts it the other
 * way). Any other error is thrown as the insert would have thrown it.
 */
async function copyChunks(copy: BinaryCopy, slice: ChunkRow[]): Promise<boolean> {
  const writer = new BinaryCopyWriter(slice.length * 4096);
  for (const r of slice) {
    const vector = typeof r.embedding === "string" ? parseVectorLiteral(r.embedding) : r.embedding;
    writer
      .row(16)
      .text(r.id)
      .uuid(r.documentId)
      .uuid(r.sourceId)
      .text(r.path)
      .int4(r.ordinal)
      .int4(r.startLine)
      .int4(r.endLine)
      .text(r.kind)
      .text(r.heading)
      .text(r.content)
      .text(r.contentHash)
      .int4(r.tokenCount)
      .text(r.embeddingSpace)
      .int4(r.dims)
      .vector(vector)
      .tsvector(r.lexemeList, r.lexemeWeights ?? "");
  }
  const data = writer.finish();
  await copy.exec(`savepoint ${SAVEPOINT}`);
  try {
    await copy.copyBinary(`chunks (${CHUNK_COLUMNS})`, data);
  } catch (error) {
    if (!hasSqlState(error, "23505")) throw error;
    await copy.exec(`rollback to savepoint ${SAVEPOINT}`);
    await copy.exec(`release savepoint ${SAVEPOINT}`);
    return false;
  }
  await copy.exec(`release savepoint ${SAVEPOINT}`);
  return true;
}

/**
 * Adds chunks' lexemes to the document frequencies: at once (one upsert per source, terms in
 * order), or, for a bulk load, as one pending row per source merged when the run completes
 * (mergePendingTermStats).
 */
async function addTermStats(
  db: Database,
  rows: Pick<ChunkRow, "sourceId" | "lexemeList">[],
  defer = false,
): Promise<void> {
  const bySource = new Map<string, { chunks: number; df: Map<string, number> }>();
  for (const row of rows) {
    let entry = bySource.get(row.sourceId);
    if (!entry) {
      entry = { chunks: 0, df: new Map() };
      bySource.set(row.sourceId, entry);
    }
    entry.chunks++;
    for (const lexeme of row.lexemeList) entry.df.set(lexeme, (entry.df.get(lexeme) ?? 0) + 1);
  }
  for (const [sourceId, { chunks, df }] of bySource) {
    // Sorted, so concurrent batches lock rows in the same order (no deadlock).
    const terms = [...df.keys()].sort();
    if (defer) {
      await db.execute(sql`
        insert into lexical_pending (source_id, terms, dfs, chunks)
        values (${sourceId}, ${p(terms)}::text[], ${p(terms.map((t) => df.get(t) ?? 0))}::int[], ${chunks})`);
      continue;
    }
    await db.execute(sql`
      insert into lexical_terms (term, source_id, df)
      select t.term, ${sourceId}::uuid, t.df from unnest(${p(terms)}::text[], ${p(terms.map((t) => df.get(t) ?? 0))}::int[]) as t(term, df)
      on conflict (term, source_id) do update set df = lexical_terms.df + excluded.df`);
    await db.execute(sql`
      insert into lexical_sources (source_id, chunks) values (${sourceId}, ${chunks})
      on conflict (source_id) do update set chunks = lexical_sources.chunks + excluded.chunks`);
  }
}

/**
 * Merges a source's pending document-frequency deltas (written by the batches of a bulk
 * load) into lexical_terms and lexical_sources, in one statement. Returns the rows merged.
 */
export async function mergePendingTermStats(db: Database, sourceId: string): Promise<number> {
  const [row] = rowsOf<{ n: number }>(
    await db.execute(sql`
      with gone as (delete from lexical_pending where source_id = ${sourceId} returning terms, dfs, chunks),
      per_term as (
        select u.term, sum(u.df)::int as df from gone, unnest(gone.terms, gone.dfs) as u(term, df)
        group by u.term
      ),
      terms as (
        insert into lexical_terms (term, source_id, df)
        select term, ${sourceId}::uuid, df from per_term order by term
        on conflict (term, source_id) do update set df = lexical_terms.df + excluded.df
        returning 1
      ),
      sources as (
        insert into lexical_sources (source_id, chunks)
        select ${sourceId}::uuid, sum(chunks)::int from gone having count(*) > 0
        on conflict (source_id) do update set chunks = lexical_sources.chunks + excluded.chunks
        returning 1
      )
      select count(*)::int as n from gone`),
  );
  return Number(row?.n ?? 0);
}

/**
 * Deletes chunks and subtracts their lexemes from the document frequencies, in one statement.
 * Returns the deleted chunks' document ids.
 */
async function deleteChunksWhere(db: Database, where: ReturnType<typeof sql>): Promise<string[]> {
  const rows = rowsOf<{ document_id: string }>(
    await db.execute(sql`
      with gone as (delete from chunks c where ${where} returning c.source_id, c.document_id, c.lexemes),
      per_term as (
        select g.source_id, l.term, count(*)::int as n
        from gone g, unnest(tsvector_to_array(g.lexemes)) as l(term)
        group by g.source_id, l.term
      ),
      terms as (
        update lexical_terms t set df = t.df - per_term.n from per_term
        where t.term = per_term.term and t.source_id = per_term.source_id
        returning 1
      ),
      per_source as (
        select source_id, count(*)::int as n from gone where lexemes <> ''::tsvector group by source_id
      ),
      sources as (
        update lexical_sources s set chunks = s.chunks - per_source.n from per_source
        where s.source_id = per_source.source_id
        returning 1
      )
      select document_id from gone`),
  );
  return rows.map((r) => r.document_id);
}

/** A kept chunk's new position and, when its heading changed, its new lexemes. */
export interface MovedChunk extends ExistingChunk {
  sourceId: string;
  /** Set when the heading changed (its `h:` lexemes change with it). */
  lexemes?: { tsvector: string; list: string[] };
}

/** Kept chunks whose position in the document moved (lines inserted above them). */
export async function updateChunkPositions(db: Database, rows: MovedChunk[]): Promise<void> {
  if (rows.length === 0) return;
  const col = <K extends keyof ExistingChunk>(key: K) => rows.map((r) => r[key]);
  const relabelled = rows.filter((r) => r.lexemes);
  if (relabelled.length > 0) {
    // Their old lexemes leave the document frequencies; the new ones are added below.
    await db.execute(sql`
      with old as (select source_id, lexemes from chunks where id = any(${p(relabelled.map((r) => r.id))}::text[])),
      per_term as (
        select o.source_id, l.term, count(*)::int as n from old o, unnest(tsvector_to_array(o.lexemes)) as l(term)
        group by o.source_id, l.term
      )
      update lexical_terms t set df = t.df - per_term.n from per_term
      where t.term = per_term.term and t.source_id = per_term.source_id`);
  }
  await db.execute(sql`
    update chunks c set ordinal = t.ordinal, start_line = t.start_line, end_line = t.end_line, heading = t.heading,
      lexemes = coalesce(t.lexemes::tsvector, c.lexemes)
    from unnest(${p(col("id"))}::text[], ${p(col("ordinal"))}::int[], ${p(col("startLine"))}::int[], ${p(col("endLine"))}::int[], ${p(col("heading"))}::text[],
                ${p(rows.map((r) => r.lexemes?.tsvector ?? null))}::text[])
      as t(id, ordinal, start_line, end_line, heading, lexemes)
    where c.id = t.id`);
  if (relabelled.length > 0) {
    await addTermStats(
      db,
      relabelled.map((r) => ({ sourceId: r.sourceId, lexemeList: r.lexemes?.list ?? [] })),
    );
    // addTermStats counted these chunks again in lexical_sources: they were already there.
    const bySource = new Map<string, number>();
    for (const r of relabelled) bySource.set(r.sourceId, (bySource.get(r.sourceId) ?? 0) + 1);
    for (const [sourceId, n] of bySource)
      await db.execute(
        sql`update lexical_sources set chunks = chunks - ${n} where source_id = ${sourceId}`,
      );
  }
}

export async function deleteChunks(db: Database, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  return (await deleteChunksWhere(db, sql`c.id = any(${p(ids)}::text[])`)).length;
}

/** Deletes documents (and their chunks); returns path → chunks deleted. */
export async function deleteDocuments(
  db: Database,
  sourceId: string,
  paths: string[],
): Promise<Map<string, number>> {
  if (paths.length === 0) return new Map();
  const documents = rowsOf<{ id: string; path: string }>(
    await db.execute(sql`
      select id, path from documents where source_id = ${sourceId} and path = any(${p(paths)}::text[])`),
  );
  if (documents.length === 0) return new Map();
  const ids = documents.map((d) => d.id);
  const perDocument = new Map<string, number>();
  for (const id of await deleteChunksWhere(db, sql`c.document_id = any(${p(ids)}::uuid[])`))
    perDocument.set(id, (perDocument.get(id) ?? 0) + 1);
  await db.execute(sql`delete from documents where id = any(${p(ids)}::uuid[])`);
  return new Map(documents.map((d) => [d.path, perDocument.get(d.id) ?? 0]));
}

export async function updateBlobShas(
  db: Database,
  sourceId: string,
  updates: { path: string; blobSha: string }[],
): Promise<void> {
  if (updates.length === 0) return;
  await db.execute(sql`
    update documents d set blob_sha = t.blob_sha
    from unnest(${p(updates.map((u) => u.path))}::text[], ${p(updates.map((u) => u.blobSha))}::text[]) as t(path, blob_sha)
    where d.source_id = ${sourceId} and d.path = t.path`);
}
