import { sql } from "drizzle-orm";
import { type Database, rowsOf } from "../../db/client";

/**
 * Set-based writes to the index. Every statement handles a whole batch at once (arrays
 * through `unnest`), because per-row statements dominate the cost on the embedded database.
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
  /** pgvector text form: `[0.1,0.2,…]`. */
  embedding: string;
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

export async function insertChunks(db: Database, rows: ChunkRow[]): Promise<void> {
  for (let offset = 0; offset < rows.length; offset += 500) {
    const slice = rows.slice(offset, offset + 500);
    const col = <K extends keyof ChunkRow>(key: K) => slice.map((r) => r[key]);
    await db.execute(sql`
      insert into chunks (id, document_id, source_id, path, ordinal, start_line, end_line, kind, heading, content, content_hash, token_count, embedding_space, dims, embedding)
      select t.id, t.document_id, t.source_id, t.path, t.ordinal, t.start_line, t.end_line, t.kind, t.heading, t.content, t.content_hash,
             t.token_count, t.embedding_space, t.dims, t.embedding::vector
      from unnest(${p(col("id"))}::text[], ${p(col("documentId"))}::uuid[], ${p(col("sourceId"))}::uuid[], ${p(col("path"))}::text[],
                  ${p(col("ordinal"))}::int[], ${p(col("startLine"))}::int[], ${p(col("endLine"))}::int[], ${p(col("kind"))}::text[],
                  ${p(col("heading"))}::text[], ${p(col("content"))}::text[], ${p(col("contentHash"))}::text[], ${p(col("tokenCount"))}::int[],
                  ${p(col("embeddingSpace"))}::text[], ${p(col("dims"))}::int[], ${p(col("embedding"))}::text[])
        as t(id, document_id, source_id, path, ordinal, start_line, end_line, kind, heading, content, content_hash, token_count, embedding_space, dims, embedding)
      on conflict (id) do nothing`);
  }
}

/** Kept chunks whose position in the document moved (lines inserted above them). */
export async function updateChunkPositions(db: Database, rows: ExistingChunk[]): Promise<void> {
  if (rows.length === 0) return;
  const col = <K extends keyof ExistingChunk>(key: K) => rows.map((r) => r[key]);
  await db.execute(sql`
    update chunks c set ordinal = t.ordinal, start_line = t.start_line, end_line = t.end_line, heading = t.heading
    from unnest(${p(col("id"))}::text[], ${p(col("ordinal"))}::int[], ${p(col("startLine"))}::int[], ${p(col("endLine"))}::int[], ${p(col("heading"))}::text[])
      as t(id, ordinal, start_line, end_line, heading)
    where c.id = t.id`);
}

export async function deleteChunks(db: Database, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const rows = rowsOf<{ id: string }>(
    await db.execute(sql`delete from chunks where id = any(${p(ids)}::text[]) returning id`),
  );
  return rows.length;
}

/** Deletes documents (and their chunks); returns path → chunks deleted. */
export async function deleteDocuments(
  db: Database,
  sourceId: string,
  paths: string[],
): Promise<Map<string, number>> {
  if (paths.length === 0) return new Map();
  const counts = rowsOf<{ path: string; n: number }>(
    await db.execute(sql`
      select d.path, count(c.id)::int as n from documents d left join chunks c on c.document_id = d.id
      where d.source_id = ${sourceId} and d.path = any(${p(paths)}::text[]) group by d.path`),
  );
  await db.execute(
    sql`delete from documents where source_id = ${sourceId} and path = any(${p(paths)}::text[])`,
  );
  return new Map(counts.map((r) => [r.path, Number(r.n)]));
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
