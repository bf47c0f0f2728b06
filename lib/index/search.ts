import { sql } from "drizzle-orm";
import { type Database, rowsOf } from "../../db/client";
import type { EmbeddingProvider } from "../embedding";
import { ValidationError } from "../errors";
import { vectorLiteral } from "./write";

export const MAX_QUERY_CHARS = 1000;
export const MAX_K = 100;

export interface SearchRequest {
  query: string;
  k: number;
  /** Restrict to one source (its id). */
  sourceId?: string;
  /** HNSW candidates examined (pgvector hnsw.ef_search); raised to k when smaller. Default 100. */
  efSearch?: number;
}

export interface SearchHit {
  chunkId: string;
  source: string;
  sourceId: string;
  path: string;
  startLine: number;
  endLine: number;
  heading: string | null;
  /** Cosine similarity, 1 = identical direction. */
  score: number;
  snippet: string;
}

export function validateSearch(
  query: string | null | undefined,
  k: number | undefined,
): { query: string; k: number } {
  const trimmed = (query ?? "").trim();
  if (trimmed.length === 0)
    throw new ValidationError("query is empty", [{ path: "q", message: "required" }]);
  if (trimmed.length > MAX_QUERY_CHARS)
    throw new ValidationError(
      `query is ${trimmed.length} characters; the limit is ${MAX_QUERY_CHARS}`,
      [{ path: "q", message: `at most ${MAX_QUERY_CHARS} characters` }],
    );
  const count = k ?? 10;
  if (!Number.isInteger(count) || count < 1 || count > MAX_K)
    throw new ValidationError(`k must be a whole number from 1 to ${MAX_K}`, [
      { path: "k", message: `1-${MAX_K}` },
    ]);
  return { query: trimmed, k: count };
}

/**
 * Nearest chunks by cosine distance in the embedder's space, through that space's HNSW
 * index. With a source filter the index scan keeps going until k matches are found
 * (pgvector's iterative scan), so a small source is not starved by a large one.
 */
export async function searchChunks(
  db: Database,
  embedder: EmbeddingProvider,
  request: SearchRequest,
): Promise<SearchHit[]> {
  const { query, k } = validateSearch(request.query, request.k);
  const vector = vectorLiteral(await embedder.embedQuery(query));
  const dims = sql.raw(String(Math.trunc(embedder.dimensions)));
  const sourceFilter = request.sourceId ? sql`and c.source_id = ${request.sourceId}` : sql``;
  const rows = await db.transaction(async (tx) => {
    const efSearch = Math.max(k, Math.min(1000, Math.trunc(request.efSearch ?? 100)));
    await tx.execute(sql.raw(`set local hnsw.ef_search = ${efSearch}`));
    if (request.sourceId) await tx.execute(sql`set local hnsw.iterative_scan = relaxed_order`);
    return rowsOf<{
      id: string;
      source_id: string;
      source: string;
      path: string;
      start_line: number;
      end_line: number;
      heading: string | null;
      content: string;
      distance: number;
    }>(
      await tx.execute(sql`
        select n.id, n.source_id, s.name as source, n.path, n.start_line, n.end_line, n.heading, n.content, n.distance
        from (
          select c.id, c.source_id, c.path, c.start_line, c.end_line, c.heading, c.content,
                 (c.embedding::vector(${dims}) <=> ${vector}::vector(${dims})) as distance
          from chunks c
          where c.embedding_space = ${embedder.space} ${sourceFilter}
          order by c.embedding::vector(${dims}) <=> ${vector}::vector(${dims})
          limit ${k}
        ) n join sources s on s.id = n.source_id
        order by n.distance`),
    );
  });
  return rows.map((row) => ({
    chunkId: row.id,
    source: row.source,
    sourceId: row.source_id,
    path: row.path,
    startLine: row.start_line,
    endLine: row.end_line,
    heading: row.heading,
    score: Math.round((1 - Number(row.distance)) * 10_000) / 10_000,
    snippet: snippet(row.content, query),
  }));
}

const SNIPPET_CHARS = 240;

/** Lower-cased words with identifiers split (`evictExpiredEntries` → evict, expired, entries). */
function words(text: string): string[] {
  return text
    .split(/[^A-Za-z0-9]+/)
    .flatMap((word) => word.split(/(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])/))
    .map((word) => word.toLowerCase())
    .filter((word) => word.length > 1);
}

/** From the line sharing the most distinct words with the query, about 240 characters. */
export function snippet(content: string, query: string): string {
  const terms = new Set(words(query));
  const lines = content.split("\n");
  let best = 0;
  let bestScore = 0;
  for (let i = 0; i < lines.length; i++) {
    const score = new Set(words(lines[i] ?? "").filter((w) => terms.has(w))).size;
    if (score > bestScore) {
      best = i;
      bestScore = score;
    }
  }
  let text = "";
  for (let i = best; i < lines.length && text.length < SNIPPET_CHARS; i++)
    text += `${text ? "\n" : ""}${lines[i]}`;
  text = text.trim();
  return text.length > SNIPPET_CHARS ? `${text.slice(0, SNIPPET_CHARS - 1)}…` : text;
}
