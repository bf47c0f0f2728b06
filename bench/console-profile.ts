import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { type SQL, sql } from "drizzle-orm";
import { rowsOf } from "../db/client";
import { listAlerts } from "../lib/alerts/records";
import { listRunRows, overviewThroughput, throughput } from "../lib/console/queries";
import { checkHealth } from "../lib/health/check";
import { sourcesMissingVectorIndex } from "../lib/index/vector-index";
import { renderMetrics, resetMetricsCache } from "../lib/metrics/registry";
import { measure } from "../lib/monitoring/monitor";
import {
  latestStoredFigures,
  latestStoredFiguresQuery,
  monitorIntervalMs,
} from "../lib/monitoring/series";
import { listSources } from "../lib/pipeline/source-records";
import { dlqDepth, listDeadLetters } from "../lib/recovery/dlq";
import { breakerStates } from "../lib/recovery/operator";
import { jobStats } from "../lib/runner/jobs";
import { monitorDepsOf } from "../lib/workflows/monitor";
import { seedRuns, seedSyntheticIndex } from "./console";
import { openBenchRuntime } from "./runtime";

/**
 * Where the console's overview, dead-letter pages and the metrics scrape spend their time: each
 * read they make, timed alone on the console bench's database (100,000 chunks, 10,000 runs,
 * 50,000 trace spans, 2,000 dead letters), with EXPLAIN ANALYZE of the statements behind them.
 * The database is seeded once into --data-dir and reused by later runs (delete it to reseed).
 *
 *   npx tsx bench/console-profile.ts [--data-dir DIR] [--chunks 100000] [--runs 10000]
 *     [--repeat 20] [--explain]
 */

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

async function main(): Promise<void> {
  const args = new Map<string, string>();
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (a === "--explain") args.set(a, "1");
    else {
      args.set(a, argv[i + 1] ?? "");
      i++;
    }
  }
  const root = path.resolve(import.meta.dirname, "..");
  const dataDir = path.resolve(
    args.get("--data-dir") ?? path.join(os.tmpdir(), "ballast-console-profile"),
  );
  const chunks = Number(args.get("--chunks") ?? 100_000);
  const runs = Number(args.get("--runs") ?? 10_000);
  const repeat = Number(args.get("--repeat") ?? 20);
  const started = Date.now();
  const status = (m: string) =>
    process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${m}\n`);
  const marker = path.join(dataDir, "seeded.json");
  if (!existsSync(marker)) {
    await mkdir(dataDir, { recursive: true });
    await seedSyntheticIndex(dataDir, root, "bench-console", chunks, status);
    status(`seeding ${runs} runs, their spans and 2,000 dead letters`);
    const seeded = await seedRuns(dataDir, root, "bench-console", runs);
    await writeFile(marker, JSON.stringify({ chunks: seeded.chunks, runs }));
  }
  const bench = await openBenchRuntime(dataDir, root);
  const { runtime } = bench;
  const { db } = runtime;
  const out = (line = "") => process.stdout.write(`${line}\n`);
  try {
    const [counts] = rowsOf<{ chunks: number; runs: number; dead: number }>(
      await db.execute(sql`select (select count(*)::int from chunks) as chunks,
        (select count(*)::int from sync_runs) as runs, (select count(*)::int from dead_letters) as dead`),
    );
    out(
      `${counts?.chunks} chunks, ${counts?.runs} runs, ${counts?.dead} dead letters; ${repeat} calls each after 2 warm-up; load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
    );
    const metricsSource = {
      db,
      redis: runtime.redis,
      breakers: runtime.breakers,
      monitoring: runtime.config.monitoring,
    };
    const pieces: [string, () => Promise<unknown>][] = [
      ["database ping", () => runtime.database.ping()],
      [
        "sourcesMissingVectorIndex",
        () =>
          sourcesMissingVectorIndex(
            db,
            runtime.embedder,
            runtime.config.search.vectorIndexMinChunks,
          ),
      ],
      ["archive ping", () => runtime.archive.ping()],
      ["redis ping", () => runtime.redis.ping()],
      ["jobStats", () => jobStats(db)],
      ["breaker snapshots", () => runtime.breakers.snapshots()],
      ["checkHealth (whole)", () => checkHealth(runtime)],
      ["throughput 24h", () => throughput(db, "24h")],
      ["throughput 30d", () => throughput(db, "30d")],
      ["overviewThroughput (both, one pass)", () => overviewThroughput(db)],
      ["active runs", () => listRunRows(db, { statuses: ["running", "queued"], limit: 10 })],
      [
        "recent failures",
        () => listRunRows(db, { statuses: ["failed", "completed_with_errors"], limit: 5 }),
      ],
      ["dlqDepth", () => dlqDepth(db)],
      ["breakerStates", () => breakerStates(runtime.breakers)],
      ["firing alerts", () => listAlerts(db, { status: "firing", limit: 10 })],
      ["dead letters, open (page)", () => listDeadLetters(db, { status: "open", limit: 200 })],
      [
        "dead letters, resolved (page)",
        () => listDeadLetters(db, { status: "resolved", limit: 200 }),
      ],
      ["listSources", () => listSources(db)],
      [
        "metrics, computed (no tick)",
        async () => {
          resetMetricsCache();
          return renderMetrics({
            db,
            redis: runtime.redis,
            breakers: runtime.breakers,
            monitoring: runtime.config.monitoring,
          });
        },
      ],
      ["store a monitor tick", () => measure(monitorDepsOf(bench.deps), new Date())],
      [
        "latestStoredFigures",
        () => latestStoredFigures(db, new Date(), monitorIntervalMs() + 60_000),
      ],
      [
        "metrics, first scrape (tick)",
        async () => {
          resetMetricsCache();
          return renderMetrics(metricsSource);
        },
      ],
      ["metrics, cached scrape", () => renderMetrics(metricsSource)],
    ];
    const only = args.get("--only");
    out("piece                              p50 ms   p95 ms   max ms");
    for (const [name, run] of pieces) {
      if (only && !name.includes(only)) continue;
      for (let i = 0; i < 2; i++) await run();
      const samples: number[] = [];
      for (let i = 0; i < repeat; i++) {
        const t = performance.now();
        await run();
        samples.push(performance.now() - t);
      }
      samples.sort((a, b) => a - b);
      out(
        `${name.padEnd(33)} ${percentile(samples, 50).toFixed(1).padStart(7)}  ${percentile(samples, 95).toFixed(1).padStart(7)}  ${(samples.at(-1) ?? 0).toFixed(1).padStart(7)}`,
      );
    }
    if (args.has("--explain")) {
      const statements: [string, string | SQL][] = [
        [
          "sources with chunks in the space",
          `select s.id from sources s where exists (select 1 from chunks c where c.source_id = s.id and c.embedding_space = '${runtime.embedder.space}')`,
        ],
        [
          "throughput 30d",
          `select floor(extract(epoch from finished_at) / 86400)::int, count(*), sum(processed) from sync_runs where finished_at >= now() - interval '30 days' group by 1`,
        ],
        [
          "recent failures",
          `select r.id from sync_runs r join sources s on s.id = r.source_id where r.status in ('failed', 'completed_with_errors') order by r.queued_at desc limit 5`,
        ],
        [
          "active runs",
          `select r.id from sync_runs r join sources s on s.id = r.source_id where r.status in ('running', 'queued') order by r.queued_at desc limit 10`,
        ],
        [
          "dead letters, open",
          `select * from dead_letters where status in ('pending', 'redriven', 'parked') order by last_seen_at desc limit 50`,
        ],
        [
          "dead letters, resolved",
          `select * from dead_letters where status = 'resolved' order by last_seen_at desc limit 50`,
        ],
        ["jobStats", `select status, count(*) from workflow_jobs group by status`],
        [
          "firing alerts",
          `select * from alerts where status = 'firing' order by last_raised_at desc limit 10`,
        ],
        [
          "latestStoredFigures (the metrics scrape's one statement)",
          latestStoredFiguresQuery(new Date(), monitorIntervalMs() + 60_000),
        ],
      ];
      for (const [name, statement] of statements) {
        out();
        out(`-- ${name}`);
        try {
          const plan = rowsOf<{ "QUERY PLAN": string }>(
            await db.execute(
              sql`explain analyze ${typeof statement === "string" ? sql.raw(statement) : statement}`,
            ),
          );
          for (const row of plan) out(row["QUERY PLAN"]);
        } catch (error) {
          out(`(failed: ${error instanceof Error ? error.message : String(error)})`);
        }
      }
    }
  } finally {
    await runtime.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href)
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error("console profile failed:", error);
      process.exit(1);
    },
  );
