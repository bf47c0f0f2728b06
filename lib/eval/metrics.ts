/**
 * Retrieval metrics over ranked results, with relevance by file: a result is relevant when
 * its path is one of the expected files, and each expected file counts once (the first
 * result in it).
 *
 * - recall@k: share of the expected files found in the top k results;
 * - MRR@10: 1 / rank of the first relevant result in the top 10 (0 if none);
 * - nDCG@10: binary gains (a relevant result in a file not seen earlier in the list),
 *   discounted by log2(rank + 1), over the ideal (every expected file first).
 */
export interface QueryMetrics {
  recallAt5: number;
  recallAtK: number;
  mrrAt10: number;
  ndcgAt10: number;
}

export function queryMetrics(resultPaths: string[], expected: string[], k: number): QueryMetrics {
  const relevant = new Set(expected);
  const recallAt = (n: number) => {
    const found = new Set(resultPaths.slice(0, n).filter((p) => relevant.has(p)));
    return relevant.size === 0 ? 0 : found.size / relevant.size;
  };
  const top10 = resultPaths.slice(0, 10);
  const first = top10.findIndex((p) => relevant.has(p));
  let dcg = 0;
  const seen = new Set<string>();
  top10.forEach((p, i) => {
    if (relevant.has(p) && !seen.has(p)) {
      seen.add(p);
      dcg += 1 / Math.log2(i + 2);
    }
  });
  let ideal = 0;
  for (let i = 0; i < Math.min(relevant.size, 10); i++) ideal += 1 / Math.log2(i + 2);
  return {
    recallAt5: recallAt(5),
    recallAtK: recallAt(k),
    mrrAt10: first < 0 ? 0 : 1 / (first + 1),
    ndcgAt10: ideal === 0 ? 0 : dcg / ideal,
  };
}

export function meanMetrics(all: QueryMetrics[]): QueryMetrics {
  const mean = (key: keyof QueryMetrics) =>
    all.length === 0 ? 0 : all.reduce((sum, m) => sum + m[key], 0) / all.length;
  return {
    recallAt5: round3(mean("recallAt5")),
    recallAtK: round3(mean("recallAtK")),
    mrrAt10: round3(mean("mrrAt10")),
    ndcgAt10: round3(mean("ndcgAt10")),
  };
}

export const round3 = (n: number) => Math.round(n * 1000) / 1000;
