import { readdir } from "node:fs/promises";
import path from "node:path";
import type { Config } from "../lib/config";
import { loadGolden } from "../lib/eval/golden";
import type { EvalReport } from "../lib/eval/run";
import { runEvalSession } from "../lib/eval/session";
import type { Logger } from "../lib/log/logger";

/**
 * Search quality in the bench: every golden set under eval/golden/, each indexed into its own
 * in-memory database with the bench's configuration (local embedder), as `ballast eval` does.
 */
export interface EvalSetResult {
  name: string;
  questions: number;
  documents: number;
  chunks: number;
  systems: Record<
    string,
    { recallAt5: number; recallAtK: number; mrrAt10: number; ndcgAt10: number; meanMs: number }
  >;
  /** hybrid recall@5 ÷ BM25 recall@5 − 1. */
  recallGainOverBm25: number | null;
  report: EvalReport;
}

export async function runGoldenSets(
  root: string,
  config: Config,
  log: Logger,
  status: (message: string) => void,
): Promise<EvalSetResult[]> {
  const dir = path.join(root, "eval", "golden");
  const files = (await readdir(dir)).filter((f) => f.endsWith(".json")).sort();
  const results: EvalSetResult[] = [];
  for (const file of files) {
    const golden = await loadGolden(path.join(dir, file));
    status(`eval: ${golden.name} (${golden.questions.length} questions)`);
    const { report } = await runEvalSession(golden, {
      k: 10,
      root,
      config,
      log,
      efSearch: config.search.efSearch,
      migrationsFolder: path.join(root, "db", "migrations"),
    });
    const systems = Object.fromEntries(
      Object.entries(report.systems).map(([name, s]) => [name, s.overall]),
    );
    const hybrid = report.systems.hybrid?.overall.recallAt5;
    const bm25 = report.systems.bm25?.overall.recallAt5;
    results.push({
      name: golden.name,
      questions: golden.questions.length,
      documents: report.documents,
      chunks: report.chunks,
      systems,
      recallGainOverBm25:
        hybrid !== undefined && bm25 !== undefined && bm25 > 0
          ? Math.round((hybrid / bm25 - 1) * 1000) / 1000
          : null,
      report,
    });
  }
  return results;
}
