import { sql } from "drizzle-orm";
import { rowsOf } from "../db/client";
import { anyOf, queryTerms, termForms } from "../lib/index/lexical";
import { type SearchMode, searchChunks } from "../lib/index/search";
import { vectorLiteral } from "../lib/index/write";
import { Random } from "./corpus/random";
import {
  ADJECTIVES,
  camel,
  identifierWords,
  NOUNS,
  PEOPLE,
  pascal,
  snake,
  VERBS,
} from "./corpus/vocabulary";
import type { BenchRuntime } from "./runtime";

/**
 * Search latency: varied queries of the kinds people type (identifiers in several spellings,
 * short keyword queries, questions, error messages), through searchChunks with k=10, each
 * timed end to end (query embedding, the HNSW query in PGlite, snippets).
 */

export function makeQueries(seed: string, count: number): string[] {
  const rng = new Random(`queries:${seed}`);
  const shapes: (() => string)[] = [
    () => `${rng.pick(VERBS)} ${rng.pick(NOUNS)} ${rng.pick(NOUNS)}`,
    () => camel(identifierWords(rng, "function")),
    () => pascal(identifierWords(rng, "type")),
    () => snake(identifierWords(rng, "function")),
    () => `how do we ${rng.pick(VERBS)} a ${rng.pick(ADJECTIVES)} ${rng.pick(NOUNS)}`,
    () => `where do we ${rng.pick(VERBS)} the ${rng.pick(NOUNS)} ${rng.pick(NOUNS)}`,
    () => `cannot ${rng.pick(VERBS)} ${rng.pick(NOUNS)}`,
    () => `${rng.pick(NOUNS)} ${rng.pick(["timeout", "retry", "limit", "config", "error"])}`,
    () =>
      `why does ${rng.pick(PEOPLE)} ${rng.pick(VERBS)} the ${rng.pick(ADJECTIVES)} ${rng.pick(NOUNS)} twice`,
    () => `${pascal([rng.pick(NOUNS), rng.pick(["service", "store", "client", "manager"])])}`,
  ];
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(rng.pick(shapes)());
  return out;
}

export interface SearchMeasurement {
  mode: SearchMode;
  queries: number;
  warmup: number;
  k: number;
  indexChunks: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
  /** Queries that returned fewer than k hits (should be 0). */
  shortResults: number;
}

export async function measureSearch(
  bench: BenchRuntime,
  options: {
    queries: string[];
    warmup: number;
    k: number;
    indexChunks: number;
    mode?: SearchMode;
  },
): Promise<SearchMeasurement> {
  const mode = options.mode ?? "hybrid";
  const { db, embedder } = bench.runtime;
  const { queries, warmup, k } = options;
  const timings: number[] = [];
  let shortResults = 0;
  for (let i = 0; i < queries.length; i++) {
    const query = queries[i] as string;
    const started = performance.now();
    const hits = await searchChunks(db, embedder, {
      query,
      k,
      mode,
      efSearch: bench.runtime.config.search.efSearch,
    });
    const ms = performance.now() - started;
    if (i < warmup) continue;
    timings.push(ms);
    if (hits.length < k) shortResults++;
  }
  const sorted = [...timings].sort((a, b) => a - b);
  const q = (p: number) =>
    round2(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0);
  return {
    mode,
    queries: timings.length,
    warmup,
    k,
    indexChunks: options.indexChunks,
    p50Ms: q(0.5),
    p95Ms: q(0.95),
    p99Ms: q(0.99),
    meanMs: round2(timings.reduce((a, b) => a + b, 0) / Math.max(1, timings.length)),
    maxMs: round2(sorted[sorted.length - 1] ?? 0),
    shortResults,
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

export interface RecallMeasurement {
  queries: number;
  k: number;
  efSearch: number;
  /** Mean share of the exact top k that the index search returned. */
  recallAtK: number;
  /** The worst single query's share. */
  minRecall: number;
  /**
   * Ties counted (ann-benchmarks' definition): a returned result counts when its similarity
   * is at least the exact k-th similarity. The generated corpus has near-duplicate chunks, so
   * several chunks can share the k-th similarity and which of them the exact top k holds is
   * arbitrary.
   */
  recallWithTies: number;
  /**
   * Mean cosine similarity of what the index returned ÷ that of the exact top k: how much
   * worse the missed-for results are (1 = as good as exact).
   */
  scoreRatio: number;
  /**
   * Share of the exact top k that holds none of the query's terms (no lexeme in the body,
   * path or symbol): chunks there only by hash collisions of the local embedder's buckets. No
   * graph walk or term-driven candidate set finds them; only a full scan does.
   */
  exactWithoutQueryTerm: number;
}

/**
 * The vector side as it is, without the path weights that the ranking applies afterwards
 * (tests, fixtures and generated code at 0.5): recall against exact search measures which
 * chunks the vector side finds, not the ranking policy (the exact top k has no path weights).
 */
const VECTOR_SIDE_ONLY = { lowWeight: 1 } as const;

/**
 * Quality of the vector side: for a sample of queries, the top k of searchChunks in vector
 * mode (each source's HNSW neighbours and the lexical candidates, ranked by exact cosine)
 * against the exact top k (a sequential scan with the indexes disabled), over the same chunks.
 */
export async function measureRecall(
  bench: BenchRuntime,
  options: { queries: string[]; k: number },
): Promise<RecallMeasurement> {
  const { db, embedder, config } = bench.runtime;
  const { k } = options;
  const dims = sql.raw(String(embedder.dimensions));
  const shares: number[] = [];
  const tieShares: number[] = [];
  const ratios: number[] = [];
  let exactChunks = 0;
  let exactWithoutTerm = 0;
  for (const query of options.queries) {
    const hits = await searchChunks(db, embedder, {
      query,
      k,
      mode: "vector",
      efSearch: config.search.efSearch,
      ranking: VECTOR_SIDE_ONLY,
    });
    const approximate = new Set(hits.map((h) => h.chunkId));
    const vector = vectorLiteral(await embedder.embedQuery(query));
    const exact = await db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_indexscan = off`);
      await tx.execute(sql`set local enable_bitmapscan = off`);
      return rowsOf<{ id: string; similarity: number }>(
        await tx.execute(sql`
          select id, 1 - (embedding::vector(${dims}) <=> ${vector}::vector(${dims})) as similarity
          from chunks where embedding_space = ${embedder.space}
          order by embedding::vector(${dims}) <=> ${vector}::vector(${dims}) limit ${k}`),
      );
    });
    if (exact.length === 0) continue;
    const forms = queryTerms(query).flatMap((t) => termForms(t).map((f) => f.lexeme));
    const [withTerm] = rowsOf<{ n: number }>(
      await db.execute(sql`
        select count(*)::int as n from chunks
        where id = any(${sql.param(exact.map((r) => r.id))}::text[])
          and ${forms.length > 0 ? sql`lexemes @@ ${anyOf(forms)}::tsquery` : sql`false`}`),
    );
    exactChunks += exact.length;
    exactWithoutTerm += exact.length - Number(withTerm?.n ?? 0);
    shares.push(exact.filter((r) => approximate.has(r.id)).length / exact.length);
    tieShares.push(tieAwareShare(exact, hits));
    const mean = (values: number[]) =>
      values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
    const exactMean = mean(exact.map((r) => Number(r.similarity)));
    if (exactMean > 0) ratios.push(mean(hits.map((h) => h.similarity ?? 0)) / exactMean);
  }
  const round3 = (n: number) => Math.round(n * 1000) / 1000;
  return {
    queries: shares.length,
    k,
    efSearch: config.search.efSearch,
    recallAtK: round3(shares.reduce((a, b) => a + b, 0) / Math.max(1, shares.length)),
    minRecall: round3(Math.min(...shares, 1)),
    recallWithTies: round3(tieShares.reduce((a, b) => a + b, 0) / Math.max(1, tieShares.length)),
    scoreRatio: round3(ratios.reduce((a, b) => a + b, 0) / Math.max(1, ratios.length)),
    exactWithoutQueryTerm: round3(exactWithoutTerm / Math.max(1, exactChunks)),
  };
}

/**
 * Share of the exact top k matched, counting results as similar as the exact k-th (ties).
 * Search reports similarities rounded to 4 decimals, so the exact k-th is compared at that
 * precision too (comparing a rounded hit with the unrounded k-th counted a true tie as a miss
 * half the time).
 */
function tieAwareShare(
  exact: { similarity: number }[],
  hits: { similarity: number | null }[],
): number {
  if (exact.length === 0) return 1;
  const kth = Number(exact[exact.length - 1]?.similarity ?? 0);
  const threshold = Math.round(kth * 10_000) / 10_000;
  const matched = hits.filter((h) => (h.similarity ?? -2) >= threshold).length;
  return Math.min(matched, exact.length) / exact.length;
}

export interface EfSweepPoint {
  efSearch: number;
  /** Mean share of the exact top k returned by the vector side (searchChunks, vector mode). */
  recallAtK: number;
  /** The same with ties counted (see RecallMeasurement.recallWithTies). */
  recallWithTies: number;
  p50Ms: number;
  p95Ms: number;
}

/**
 * The vector side's recall against exact search and its latency at several hnsw.ef_search
 * values, over the same queries (the exact top k computed once per query): the trade-off the
 * SEARCH_EF_SEARCH setting chooses from.
 */
export async function measureEfSweep(
  bench: BenchRuntime,
  options: { queries: string[]; k: number; efValues: number[] },
): Promise<EfSweepPoint[]> {
  const { db, embedder } = bench.runtime;
  const { k } = options;
  const dims = sql.raw(String(embedder.dimensions));
  const exact: { id: string; similarity: number }[][] = [];
  for (const query of options.queries) {
    const vector = vectorLiteral(await embedder.embedQuery(query));
    const rows = await db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_indexscan = off`);
      await tx.execute(sql`set local enable_bitmapscan = off`);
      return rowsOf<{ id: string; similarity: number }>(
        await tx.execute(sql`
          select id, 1 - (embedding::vector(${dims}) <=> ${vector}::vector(${dims})) as similarity
          from chunks where embedding_space = ${embedder.space}
          order by embedding::vector(${dims}) <=> ${vector}::vector(${dims}) limit ${k}`),
      );
    });
    exact.push(rows.map((r) => ({ id: r.id, similarity: Number(r.similarity) })));
  }
  const points: EfSweepPoint[] = [];
  for (const efSearch of options.efValues) {
    const timings: number[] = [];
    let found = 0;
    let total = 0;
    let tieShares = 0;
    for (let i = 0; i < options.queries.length; i++) {
      const started = performance.now();
      const hits = await searchChunks(db, embedder, {
        query: options.queries[i] as string,
        k,
        mode: "vector",
        efSearch,
        ranking: VECTOR_SIDE_ONLY,
      });
      timings.push(performance.now() - started);
      const top = exact[i] ?? [];
      const want = new Set(top.map((r) => r.id));
      found += hits.filter((h) => want.has(h.chunkId)).length;
      total += want.size;
      tieShares += tieAwareShare(top, hits);
    }
    const sorted = timings.sort((a, b) => a - b);
    const q = (p: number) =>
      round2(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0);
    points.push({
      efSearch,
      recallAtK: Math.round((found / Math.max(1, total)) * 1000) / 1000,
      recallWithTies: Math.round((tieShares / Math.max(1, options.queries.length)) * 1000) / 1000,
      p50Ms: q(0.5),
      p95Ms: q(0.95),
    });
  }
  return points;
}
