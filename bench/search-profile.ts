import path from "node:path";
import { Command } from "commander";
import { type SearchMode, searchChunks } from "../lib/index/search";
import { percentile } from "./load/drive";
import { openBenchRuntime } from "./runtime";
import { makeQueries } from "./search";
import { SqlTimer } from "./sql-timing";

/**
 * Where a search's time goes, statement by statement, on a database the bench kept
 * (`npm run bench -- --keep` prints its directory): every query of the bench's set timed
 * whole, and PGlite's time summed by SQL statement.
 *
 *   npx tsx bench/search-profile.ts --data-dir /tmp/ballast-bench-XXXX/data [--queries 200]
 */
const opts = new Command()
  .requiredOption("--data-dir <dir>", "the bench's data directory (holds pglite/)")
  .option("--queries <n>", "queries timed", "200")
  .option("--mode <mode>", "hybrid | lexical | vector", "hybrid")
  .option("--seed <seed>", "the bench's seed", "ballast-bench-1")
  .parse()
  .opts<{ dataDir: string; queries: string; mode: SearchMode; seed: string }>();

const out = (line = "") => process.stdout.write(`${line}\n`);
const ROOT = path.resolve(import.meta.dirname, "..");
const bench = await openBenchRuntime(path.resolve(opts.dataDir), ROOT);
try {
  const { db, embedder } = bench.runtime;
  const count = Number(opts.queries);
  const queries = makeQueries(opts.seed, 20 + count);
  for (const query of queries.slice(0, 20))
    await searchChunks(db, embedder, { query, k: 10, mode: opts.mode });
  const timer = new SqlTimer();
  if (!timer.attach(db)) throw new Error("SQL timing needs the embedded database in process");
  timer.start();
  const times: number[] = [];
  for (const query of queries.slice(20)) {
    const started = performance.now();
    await searchChunks(db, embedder, { query, k: 10, mode: opts.mode });
    times.push(performance.now() - started);
  }
  const entries = timer.stop(20);
  times.sort((a, b) => a - b);
  out(
    `${opts.mode}: ${times.length} queries, p50 ${percentile(times, 50).toFixed(1)} ms, p95 ${percentile(times, 95).toFixed(1)} ms, mean ${(times.reduce((a, b) => a + b, 0) / times.length).toFixed(1)} ms`,
  );
  out("PGlite time by statement (per query):");
  for (const e of entries)
    out(
      `${(e.ms / times.length).toFixed(2).padStart(8)} ms  ${String(Math.round((e.calls / times.length) * 10) / 10).padStart(5)}×  ${e.statement}`,
    );
} finally {
  await bench.runtime.close();
}
