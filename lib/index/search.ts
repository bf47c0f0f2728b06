import { type SQL, sql } from "drizzle-orm";
import { type Database, rowsOf } from "../../db/client";
import type { EmbeddingProvider } from "../embedding";
import { ValidationError } from "../errors";
import { compileGlobs, type PathMatcher } from "../sources/glob";
import {
  LABEL_WEIGHTS,
  lexemeQuery,
  PRESENCE_RANK,
  queryTerms,
  RANK_TO_SATURATION,
  type TermField,
  termForms,
} from "./lexical";
import { vectorLiteral } from "./write";

export const MAX_QUERY_CHARS = 1000;
export const MAX_K = 100;

export const SEARCH_MODES = ["hybrid", "lexical", "vector"] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];

/**
 * Paths whose results weigh less by default: tests, fixtures, snapshots, generated and
 * example code. They still match; they rank below the code they exercise.
 */
export const DEFAULT_LOW_WEIGHT_PATHS = [
  "**/test/**",
  "**/tests/**",
  "**/__tests__/**",
  "**/spec/**",
  "**/*.test.*",
  "**/*.spec.*",
  "**/*_test.*",
  "**/test_*.*",
  "**/fixtures/**",
  "**/__fixtures__/**",
  "**/__snapshots__/**",
  "**/testdata/**",
  "**/generated/**",
  "**/*.generated.*",
  "**/*.min.js",
  "**/examples/**",
  "**/benchmarks/**",
];

export interface RankingOptions {
  /** Glob patterns of paths whose results are down-weighted. */
  lowWeightPaths: string[];
  /** Their weight, 0-1 (1 = no change). */
  lowWeight: number;
  /**
   * Weight of the vector ranking in the fusion, against 1 for the lexical ranking. Undefined:
   * 1 for semantic embedders (OpenAI, Cohere); LOCAL_VECTOR_WEIGHT for the local embedder.
   */
  vectorWeight?: number;
}

const matchers = new Map<string, PathMatcher | undefined>();

/** The low-weight globs compiled once (operator configuration: trusted, no user limits). */
function lowWeightMatcher(globs: string[]): PathMatcher | undefined {
  const key = globs.join("\n");
  if (!matchers.has(key)) matchers.set(key, compileGlobs(globs, { limits: false }));
  return matchers.get(key);
}

export const DEFAULT_RANKING: RankingOptions = {
  lowWeightPaths: DEFAULT_LOW_WEIGHT_PATHS,
  lowWeight: 0.5,
};

/**
 * The local embedder's vectors are hashed bags of the same words the lexical side matches,
 * without IDF or fields: a noisier copy of the lexical evidence. In the fusion they break
 * ties and lift chunks that share many of the query's words, rather than vote as an equal.
 */
export const LOCAL_VECTOR_WEIGHT = 0.3;

export function vectorWeightFor(embedder: Pick<EmbeddingProvider, "provider">): number {
  return embedder.provider === "local" ? LOCAL_VECTOR_WEIGHT : 1;
}

/** Field weights of a term found in the path or in the chunk's symbol/heading, against the body's ~1. */
export const PATH_WEIGHT = 0.7;
export const SYMBOL_WEIGHT = 1.0;
/** Reciprocal-rank fusion constant (the usual 60). */
export const RRF_K = 60;
/**
 * Lexical candidates: the rarest query lexemes are matched through the GIN index until their
 * document frequencies add up to this; commoner lexemes only score the candidates found.
 */
export const CANDIDATE_POSTINGS = 1200;
/** Lexical results passed on to fusion (and to the exact vector re-rank). */
export const LEXICAL_POOL = 100;
/** Nearest neighbours taken from the HNSW index (at least k). */
export const VECTOR_POOL = 40;

export interface SearchRequest {
  query: string;
  k: number;
  /** Restrict to one source (its id). */
  sourceId?: string;
  /** HNSW candidates examined (pgvector hnsw.ef_search); raised to the pool size when smaller. Default 100. */
  efSearch?: number;
  /** hybrid (default): lexical and vector ranks fused; lexical or vector alone. */
  mode?: SearchMode;
  ranking?: Partial<RankingOptions>;
}

export interface TermMatch {
  /** The lexeme (stemmed; `p:` path, `h:` symbol/heading terms shown without prefix). */
  term: string;
  field: TermField;
  idf: number;
  /** What it added to the lexical score. */
  weight: number;
}

/** Why a result matched. */
export interface Explanation {
  /** The fused (or single-mode) score before the path weight. */
  fused: number;
  lexical: { score: number; rank: number | null; terms: TermMatch[] };
  vector: { similarity: number | null; rank: number | null };
  /** Query terms found in the path / the chunk's symbol or heading. */
  pathMatch: string[];
  symbolMatch: string[];
  /** < 1 when the path matches a low-weight pattern (tests, fixtures, generated). */
  pathWeight: number;
}

export interface SearchHit {
  chunkId: string;
  source: string;
  sourceId: string;
  path: string;
  startLine: number;
  endLine: number;
  heading: string | null;
  /** The ranking score: 1 = first in both lexical and vector ranks (hybrid). */
  score: number;
  /** Cosine similarity to the query, 1 = identical direction (null: not among the vector candidates). */
  similarity: number | null;
  /** BM25-style lexical score (0: no query term). */
  lexicalScore: number;
  snippet: string;
  why: Explanation;
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

export function parseSearchMode(value: string | null | undefined): SearchMode {
  if (value === null || value === undefined || value === "") return "hybrid";
  if ((SEARCH_MODES as readonly string[]).includes(value)) return value as SearchMode;
  throw new ValidationError(`mode must be one of ${SEARCH_MODES.join(", ")}`, [
    { path: "mode", message: SEARCH_MODES.join(" | ") },
  ]);
}

interface Lexeme {
  lexeme: string;
  term: string;
  field: TermMatch["field"];
  df: number;
  idf: number;
  /** Score added per unit of ts_rank. */
  coefficient: number;
}

interface LexicalResult {
  id: string;
  score: number;
  terms: TermMatch[];
}

/**
 * Hybrid search. The lexical side scores chunks BM25-style over code-aware terms (see
 * lexical.ts); the vector side ranks by exact cosine similarity the union of the HNSW index's
 * nearest neighbours and the lexical candidates; reciprocal-rank fusion combines the two, and
 * results under low-weight paths (tests, fixtures, generated) are down-weighted.
 */
export async function searchChunks(
  db: Database,
  embedder: EmbeddingProvider,
  request: SearchRequest,
): Promise<SearchHit[]> {
  const { query, k } = validateSearch(request.query, request.k);
  const mode = request.mode ?? "hybrid";
  const ranking = { ...DEFAULT_RANKING, ...request.ranking };
  const vectorWeight = ranking.vectorWeight ?? vectorWeightFor(embedder);
  // Vector mode is the vector side alone: no lexical stage, no lexical candidates scored.
  const lexemes =
    mode === "vector" ? [] : await lexemeStatistics(db, queryTerms(query), request.sourceId);
  const lexical = await lexicalSearch(db, lexemes, request.sourceId, Math.max(LEXICAL_POOL, k));
  const vectors =
    mode === "lexical"
      ? new Map<string, number>()
      : await vectorSearch(db, embedder, query, {
          sourceId: request.sourceId,
          pool: Math.max(VECTOR_POOL, k),
          efSearch: request.efSearch ?? 100,
          alsoScore: lexical.map((r) => r.id),
        });

  const lexicalRank = new Map(lexical.map((r, i) => [r.id, i + 1]));
  const lexicalById = new Map(lexical.map((r) => [r.id, r]));
  // Equal similarities (duplicate chunks) in id order: rows come back in no set order.
  const vectorOrder = [...vectors.entries()].sort(
    (a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0),
  );
  const vectorRank = new Map(vectorOrder.map(([id], i) => [id, i + 1]));
  const ids =
    mode === "lexical"
      ? lexical.map((r) => r.id)
      : mode === "vector"
        ? vectorOrder.map(([id]) => id)
        : [...new Set([...lexical.map((r) => r.id), ...vectorOrder.map(([id]) => id)])];
  if (ids.length === 0) return [];

  const rrf = (rank: number | undefined) => (rank ? (RRF_K + 1) / (RRF_K + rank) : 0);
  const fusedOf = (id: string) =>
    mode === "lexical"
      ? (lexicalById.get(id)?.score ?? 0)
      : mode === "vector"
        ? (vectors.get(id) ?? 0)
        : (rrf(lexicalRank.get(id)) + vectorWeight * rrf(vectorRank.get(id))) / (1 + vectorWeight);

  const rows = await chunkPaths(db, ids);
  const matcher = lowWeightMatcher(ranking.lowWeightPaths);
  const lowWeight = (path: string) => matcher?.(path) === true;
  const scored = rows.map((row) => {
    const fused = fusedOf(row.id);
    const pathWeight = lowWeight(row.path) || lowWeight(`/${row.path}`) ? ranking.lowWeight : 1;
    return { row, fused, pathWeight, score: fused * pathWeight };
  });
  scored.sort((a, b) => b.score - a.score || (a.row.id < b.row.id ? -1 : 1));
  const top = scored.slice(0, k);
  const contents = await chunkContents(
    db,
    top.map((t) => t.row.id),
  );
  return top.map(({ row, fused, pathWeight, score }) => {
    const lex = lexicalById.get(row.id);
    const terms = lex?.terms ?? [];
    return {
      chunkId: row.id,
      source: row.source,
      sourceId: row.source_id,
      path: row.path,
      startLine: row.start_line,
      endLine: row.end_line,
      heading: row.heading,
      score: round4(score),
      similarity: vectors.has(row.id) ? round4(vectors.get(row.id) ?? 0) : null,
      lexicalScore: round4(lex?.score ?? 0),
      snippet: snippet(contents.get(row.id) ?? "", query),
      why: {
        fused: round4(fused),
        lexical: {
          score: round4(lex?.score ?? 0),
          rank: lexicalRank.get(row.id) ?? null,
          terms,
        },
        vector: {
          similarity: vectors.has(row.id) ? round4(vectors.get(row.id) ?? 0) : null,
          rank: vectorRank.get(row.id) ?? null,
        },
        pathMatch: terms.filter((t) => t.field === "path").map((t) => t.term),
        symbolMatch: terms.filter((t) => t.field === "symbol").map((t) => t.term),
        pathWeight,
      },
    };
  });
}

const round4 = (n: number) => Math.round(n * 10_000) / 10_000;

/** Document frequencies of the query's lexemes (body, path and symbol forms) and their IDF. */
async function lexemeStatistics(
  db: Database,
  terms: string[],
  sourceId: string | undefined,
): Promise<Lexeme[]> {
  if (terms.length === 0) return [];
  const forms = terms.flatMap(termForms);
  const sourceFilter = sourceId ? sql`and source_id = ${sourceId}` : sql``;
  const rows = rowsOf<{ term: string; df: number }>(
    await db.execute(sql`
      select term, sum(df)::int as df from lexical_terms
      where term = any(${sql.param(forms.map((f) => f.lexeme))}::text[]) ${sourceFilter}
      group by term
      union all
      select '', coalesce(sum(chunks), 0)::int from lexical_sources where true ${sourceFilter}`),
  );
  const df = new Map(rows.map((r) => [r.term, Number(r.df)]));
  const n = df.get("") ?? 0;
  const presence = 1.6449340668 / (LABEL_WEIGHTS[0] ?? 1);
  return forms
    .filter((f) => (df.get(f.lexeme) ?? 0) > 0)
    .map((f) => {
      const d = df.get(f.lexeme) ?? 0;
      const idf = Math.log(1 + (Math.max(n, d) - d + 0.5) / (d + 0.5));
      const coefficient =
        f.field === "body"
          ? idf * RANK_TO_SATURATION
          : idf * presence * (f.field === "path" ? PATH_WEIGHT : SYMBOL_WEIGHT);
      return { ...f, df: d, idf, coefficient };
    })
    .sort((a, b) => a.df - b.df);
}

/**
 * BM25-style scoring through the GIN index, term at a time. The rarest lexemes pick the
 * candidates: each is looked up on its own (its postings, scored by ts_rank, which reads back
 * the saturation from the lexeme's weight label) until their document frequencies add up to
 * CANDIDATE_POSTINGS, so common words cost nothing however many chunks hold them. The commoner
 * lexemes then score only the best candidates. Score: Σ idf × saturation (body terms) or
 * idf × field weight (path, symbol terms).
 */
async function lexicalSearch(
  db: Database,
  lexemes: Lexeme[],
  sourceId: string | undefined,
  limit: number,
): Promise<LexicalResult[]> {
  if (lexemes.length === 0) return [];
  const selected: Lexeme[] = [];
  let postings = 0;
  for (const lexeme of lexemes) {
    if (postings + lexeme.df > CANDIDATE_POSTINGS) break;
    selected.push(lexeme);
    postings += lexeme.df;
  }
  const sourceFilter = sourceId ? sql`and c.source_id = ${sourceId}` : sql``;
  if (selected.length === 0) {
    // Even the rarest term is common: the candidates are the chunks holding both of the two
    // rarest (an AND, intersected inside the GIN index), at most CANDIDATE_POSTINGS of them.
    return scoreCandidates(
      db,
      lexemes,
      sql`c.lexemes @@ ${lexemes
        .slice(0, 2)
        .map((l) => lexemeQuery(l.lexeme))
        .join(" & ")}::tsquery ${sourceFilter}`,
      limit,
    );
  }
  const rest = lexemes.slice(selected.length);
  const ranks = new Map<string, Map<number, number>>();
  const add = (id: string, lexeme: number, rank: number) => {
    let entry = ranks.get(id);
    if (!entry) {
      entry = new Map();
      ranks.set(id, entry);
    }
    entry.set(lexeme, rank);
  };
  // A body lexeme's rank is read from its label (ts_rank decompresses the chunk's tsvector);
  // a path or symbol lexeme's is the same everywhere, so its lookup stays in the GIN index and
  // the heap row's id.
  const rankOf = (l: Lexeme) =>
    l.field === "body" ? tsRank(l) : sql.raw(`${PRESENCE_RANK}::float4`);
  const postingsRows = rowsOf<{ i: number; id: string; rank: number }>(
    await db.execute(
      sql.join(
        selected.map(
          (l, i) => sql`(select ${sql.raw(String(i))} as i, c.id, ${rankOf(l)} as rank
            from chunks c where c.lexemes @@ ${lexemeQuery(l.lexeme)}::tsquery ${sourceFilter})`,
        ),
        sql` union all `,
      ),
    ),
  );
  for (const row of postingsRows) add(row.id, Number(row.i), Number(row.rank));
  const scoreOf = (entry: Map<number, number>) => {
    let score = 0;
    for (const [i, rank] of entry) score += (lexemes[i]?.coefficient ?? 0) * rank;
    return score;
  };
  let ranked = [...ranks.entries()]
    .map(([id, entry]) => ({ id, entry, score: scoreOf(entry) }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  if (rest.length > 0 && ranked.length > 0) {
    // Common lexemes can still reorder the candidates: score the best few with them.
    const head = ranked.slice(0, limit * 2);
    const rows = await lexemeRanks(
      db,
      rest,
      sql`c.id = any(${sql.param(head.map((h) => h.id))}::text[])`,
    );
    for (const row of rows)
      row.ranks.forEach((rank, j) => {
        if (rank > 0) add(row.id, selected.length + j, rank);
      });
    ranked = head
      .map((h) => ({ ...h, score: scoreOf(h.entry) }))
      .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  }
  return ranked.slice(0, limit).map(({ id, entry, score }) => {
    const terms: TermMatch[] = [];
    for (const [i, rank] of entry) {
      const l = lexemes[i];
      if (l && rank > 0)
        terms.push({
          term: l.term,
          field: l.field,
          idf: round4(l.idf),
          weight: round4(l.coefficient * rank),
        });
    }
    terms.sort((a, b) => b.weight - a.weight);
    return { id, score, terms };
  });
}

/** Scores at most CANDIDATE_POSTINGS chunks matching `where` on every lexeme at once. */
async function scoreCandidates(
  db: Database,
  lexemes: Lexeme[],
  where: SQL,
  limit: number,
): Promise<LexicalResult[]> {
  const rows = await lexemeRanks(db, lexemes, where, CANDIDATE_POSTINGS);
  return rows
    .map((row) => {
      const terms: TermMatch[] = [];
      let score = 0;
      lexemes.forEach((l, i) => {
        const rank = row.ranks[i] ?? 0;
        if (rank <= 0) return;
        score += l.coefficient * rank;
        terms.push({
          term: l.term,
          field: l.field,
          idf: round4(l.idf),
          weight: round4(l.coefficient * rank),
        });
      });
      terms.sort((a, b) => b.weight - a.weight);
      return { id: row.id, score, terms };
    })
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
    .slice(0, limit);
}

const LABEL_WEIGHTS_SQL = sql.raw(`'{${LABEL_WEIGHTS.join(",")}}'::float4[]`);

/** A body lexeme's rank in chunk `c`: the saturation its weight label carries (lexical.ts). */
function tsRank(l: Lexeme): SQL {
  return sql`ts_rank(${LABEL_WEIGHTS_SQL}, c.lexemes, ${lexemeQuery(l.lexeme)}::tsquery, 0)`;
}

/**
 * Every lexeme's rank for the chunks (`c`) matching `where`, at most `max` of them. Each
 * ts_rank would decompress the stored tsvector again: it is decompressed once per chunk (a
 * concatenation builds it in memory; `offset 0` keeps that inside the subquery).
 */
async function lexemeRanks(
  db: Database,
  lexemes: Lexeme[],
  where: SQL,
  max?: number,
): Promise<{ id: string; ranks: number[] }[]> {
  const rows = rowsOf<{ id: string; ranks: unknown }>(
    await db.execute(sql`
      select c.id, array[${sql.join(lexemes.map(tsRank), sql`, `)}]::float4[] as ranks
      from (select c.id, c.lexemes || ''::tsvector as lexemes from chunks c
            where ${where} ${max === undefined ? sql`` : sql`limit ${max}`} offset 0) c`),
  );
  return rows.map((row) => ({ id: row.id, ranks: parseFloatArray(row.ranks) }));
}

function parseFloatArray(value: unknown): number[] {
  if (Array.isArray(value)) return value.map(Number);
  if (typeof value === "string")
    return value.replace(/[{}]/g, "").split(",").filter(Boolean).map(Number);
  return [];
}

/**
 * Cosine similarity of the query to each source's nearest chunks (through that source's HNSW
 * index, or exactly when it has none yet) and to `alsoScore` (the lexical candidates),
 * computed exactly on the stored vectors.
 */
async function vectorSearch(
  db: Database,
  embedder: EmbeddingProvider,
  query: string,
  options: { sourceId?: string; pool: number; efSearch: number; alsoScore: string[] },
): Promise<Map<string, number>> {
  const vector = vectorLiteral(await embedder.embedQuery(query));
  const dims = sql.raw(String(Math.trunc(embedder.dimensions)));
  const sourceIds = options.sourceId
    ? [options.sourceId]
    : rowsOf<{ id: string }>(await db.execute(sql`select id from sources order by id`)).map(
        (r) => r.id,
      );
  if (sourceIds.length === 0) return new Map();
  // One ordered scan per source, each through that source's partial index (the source id is
  // a literal so that the planner matches the index's predicate).
  const nearest = sql.join(
    sourceIds.map(
      (id) => sql`(select c.id from chunks c
          where c.embedding_space = ${embedder.space} and c.source_id = ${sql.raw(`'${uuidLiteral(id)}'`)}
            and (select ef_search from settings) is not null
          order by c.embedding::vector(${dims}) <=> ${vector}::vector(${dims})
          limit ${options.pool})`,
    ),
    sql` union all `,
  );
  // One statement: hnsw.ef_search is set for this statement's transaction only
  // (set_config local), through an init plan each index scan's one-time filter runs before
  // the scan starts; then the union of the nearest and the lexical candidates is scored
  // exactly. No explicit transaction: 1 round trip instead of 4.
  const efSearch = Math.max(options.pool, Math.min(1000, Math.trunc(options.efSearch)));
  const rows = rowsOf<{ id: string; similarity: number }>(
    await db.execute(sql`
      with settings as materialized (
        select set_config('hnsw.ef_search', ${String(efSearch)}, true) as ef_search
      ),
      nearest as (${nearest}),
      candidates as (
        select id from nearest union select unnest(${sql.param(options.alsoScore)}::text[])
      )
      select c.id, 1 - (c.embedding::vector(${dims}) <=> ${vector}::vector(${dims})) as similarity
      from chunks c join candidates using (id)
      where c.embedding_space = ${embedder.space}`),
  );
  return new Map(rows.map((r) => [r.id, Number(r.similarity)]));
}

function uuidLiteral(id: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id))
    throw new ValidationError(`not a source id: ${id}`);
  return id;
}

interface ChunkRow {
  id: string;
  source_id: string;
  source: string;
  path: string;
  start_line: number;
  end_line: number;
  heading: string | null;
}

/** Where each candidate is (no content: only the top k need it, for their snippets). */
async function chunkPaths(db: Database, ids: string[]): Promise<ChunkRow[]> {
  return rowsOf<ChunkRow>(
    await db.execute(sql`
      select c.id, c.source_id, s.name as source, c.path, c.start_line, c.end_line, c.heading
      from chunks c join sources s on s.id = c.source_id
      where c.id = any(${sql.param(ids)}::text[])`),
  );
}

async function chunkContents(db: Database, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = rowsOf<{ id: string; content: string }>(
    await db.execute(sql`select id, content from chunks where id = any(${sql.param(ids)}::text[])`),
  );
  return new Map(rows.map((r) => [r.id, r.content]));
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
