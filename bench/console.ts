import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { sql } from "drizzle-orm";
import { rowsOf } from "../db/client";
import { createApiKey } from "../lib/auth/api-keys";
import { ensureVectorIndex } from "../lib/index/vector-index";
import { addSource, parseNewSource } from "../lib/pipeline/source-records";
import { baseEnv, startApp } from "../tests/support/app-server";
import { launchBrowser } from "../tests/support/browser";
import { openBenchRuntime } from "./runtime";

/**
 * The console's pages against a large database: 10,000 runs (with five trace spans each) and
 * 2,000 dead letters seeded with SQL (a few seconds) on top of the bench index (≥ 100,000 chunks), the app started with `next start` on it, every
 * page requested with a signed-in session (server response time to the last byte, p50/p95),
 * then each page loaded once in Chromium to sum the JavaScript it downloads (first load,
 * compressed as served).
 *
 * Part of `npm run bench` (section "console"). Alone, on a synthetic index:
 *   npx tsx bench/console.ts [--chunks 100000] [--runs 10000] [--requests 40]
 *     [--data-dir DIR] (seed once there, reuse after) [--only overview,dead] [--skip-js]
 */

export const CONSOLE_TARGETS = { pageP95Ms: 200, firstLoadJsBytes: 200 * 1024 };

export interface PageTiming {
  page: string;
  path: string;
  status: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

export interface ConsoleMeasurement {
  runs: number;
  chunks: number;
  requestsPerPage: number;
  pages: PageTiming[];
  firstLoadJs: { page: string; bytes: number; scripts: number }[];
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** Inserts `count` finished runs spread over 30 days (some failed, some with failed documents). */
export async function seedRuns(dataDir: string, root: string, sourceName: string, count: number) {
  const bench = await openBenchRuntime(dataDir, root);
  try {
    const { db } = bench.runtime;
    const [source] = rowsOf<{ id: string }>(
      await db.execute(sql`select id from sources where name = ${sourceName}`),
    );
    if (!source) throw new Error(`no source ${sourceName}`);
    const minutes = (30 * 24 * 60) / count;
    await db.execute(sql`
      insert into sync_runs (source_id, dedupe_key, correlation_id, trigger, requested_mode, mode, status, error,
        planned, processed, skipped, failed, deleted, chunks_written, chunks_embedded, tokens, cost_usd,
        batches_total, queued_at, started_at, planned_at, finished_at, heartbeat_at)
      select ${source.id}, 'bench-console-' || g, 'bench-console-' || g,
        (array['webhook','schedule','admin','cli'])[1 + g % 4], 'incremental', 'incremental',
        case when g % 50 = 0 then 'failed' when g % 10 = 0 then 'completed_with_errors' else 'succeeded' end,
        case when g % 50 = 0 then 'git fetch timed out after 120 s' end,
        20 + g % 200, 18 + g % 200, g % 7, case when g % 10 = 0 then 3 else 0 end, g % 3,
        40 + g % 300, 30 + g % 300, 2000 + g % 5000, (g % 300) * 0.00002, 1 + g % 8,
        t, t + interval '200 milliseconds', t + interval '900 milliseconds', t + (1 + g % 40) * interval '1 second', t
      from generate_series(1, ${sql.raw(String(Math.trunc(count)))}) g,
        lateral (select now() - g * ${sql.raw(String(minutes))} * interval '1 minute' as t) s`);
    await db.execute(sql`
      insert into sync_run_items (run_id, path, action, batch, status, error, attempts)
      select r.id, 'docs/failed-' || i || '.md', 'upsert', 0, 'failed', 'embedding provider answered 503', 3
      from sync_runs r cross join generate_series(1, 3) i
      where r.dedupe_key like 'bench-console-%' and r.status = 'completed_with_errors'
      on conflict do nothing`);
    // Five trace spans a run (the traces page and each run's timeline), and 2,000 dead letters
    // (most resolved, 200 open) for the queue page.
    await db.execute(sql`
      insert into trace_spans (span_id, trace_id, correlation_id, kind, name, function, driver, run_id,
        source_id, attempt, status, error_class, error_message, started_at, ended_at, duration_ms)
      select md5(r.id::text || s), md5(r.id::text), r.correlation_id,
        (array['step','step','external','external','step'])[s],
        (array['plan','fetch','embedding.embed','git.fetch','finish'])[s], 'sync-source', 'embedded',
        r.id, r.source_id, 1, case when r.status = 'failed' and s = 4 then 'error' else 'ok' end,
        case when r.status = 'failed' and s = 4 then 'timeout' end,
        case when r.status = 'failed' and s = 4 then 'git fetch timed out after 120 s' end,
        r.started_at + s * interval '100 milliseconds', r.started_at + s * interval '100 milliseconds' + interval '80 milliseconds', 80
      from sync_runs r cross join generate_series(1, 5) s
      where r.dedupe_key like 'bench-console-%'
      on conflict do nothing`);
    await db.execute(sql`
      insert into dead_letters (kind, key, source_id, path, dependency, error_class, message, attempts,
        recoveries, status, first_seen_at, last_seen_at, next_attempt_at, resolved_at, resolution)
      select 'document', 'document:' || ${source.id} || ':bench/dead-' || g || '.md', ${source.id},
        'bench/dead-' || g || '.md', 'embedding:openai', 'dependency_unavailable',
        'openai answered 503 three times', 3, g % 3,
        case when g % 10 = 0 then 'pending' when g % 10 = 1 then 'parked' else 'resolved' end,
        now() - g * interval '10 minutes', now() - g * interval '5 minutes', now() + interval '1 hour',
        case when g % 10 > 1 then now() - g * interval '1 minute' end,
        case when g % 10 > 1 then 'succeeded on re-drive' end
      from generate_series(1, 2000) g
      on conflict do nothing`);
    await db.execute(sql`analyze sync_runs`);
    await db.execute(sql`analyze trace_spans`);
    await db.execute(sql`analyze dead_letters`);
  } finally {
    await bench.runtime.close();
  }
  return benchAccess(dataDir, root);
}

/** A new admin key, the seeded run to open and the chunk count, on a seeded database. */
export async function benchAccess(dataDir: string, root: string) {
  const bench = await openBenchRuntime(dataDir, root);
  try {
    const { db } = bench.runtime;
    const key = await createApiKey(db, {
      name: "bench-console",
      role: "admin",
      createdBy: "bench",
    });
    const [run] = rowsOf<{ id: string }>(
      await db.execute(sql`select id from sync_runs where dedupe_key = 'bench-console-10' limit 1`),
    );
    const [chunks] = rowsOf<{ n: number }>(
      await db.execute(sql`select count(*)::int as n from chunks`),
    );
    return { key: key.key, runId: run?.id ?? "", chunks: Number(chunks?.n ?? 0) };
  } finally {
    await bench.runtime.close();
  }
}

export async function measureConsole(options: {
  root: string;
  dataDir: string;
  sourceName: string;
  runs: number;
  requests: number;
  status: (message: string) => void;
  /** The runs are seeded already (a database kept from an earlier measurement). */
  seeded?: boolean;
  /** Only the pages whose name contains one of these. */
  only?: string[];
  /** Load each page in Chromium to sum its JavaScript (default true). */
  firstLoadJs?: boolean;
}): Promise<ConsoleMeasurement> {
  const { status } = options;
  let seeded: Awaited<ReturnType<typeof benchAccess>>;
  if (options.seeded) seeded = await benchAccess(options.dataDir, options.root);
  else {
    status(`console: seeding ${options.runs} runs with SQL`);
    seeded = await seedRuns(options.dataDir, options.root, options.sourceName, options.runs);
  }
  status("console: starting the app (next start) on the bench database");
  const app = await startApp(baseEnv(options.dataDir, { LOG_LEVEL: "warn" }));
  try {
    const login = await fetch(`${app.url}/auth/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: app.url },
      body: new URLSearchParams({ key: seeded.key }).toString(),
    });
    const cookie = login.headers
      .getSetCookie()
      .find((c) => c.startsWith("ballast_session="))
      ?.split(";")[0];
    if (!cookie) throw new Error(`sign-in failed: ${login.status}`);
    const source = encodeURIComponent(options.sourceName);
    const pages: [string, string][] = [
      ["login", "/login"],
      ["overview", "/"],
      ["sources", "/sources"],
      ["source", `/sources/${source}`],
      ["add source", "/sources/new"],
      ["remove source", `/sources/${source}/remove`],
      ["runs", "/runs"],
      ["runs, filtered", `/runs?source=${source}&status=failed&status=completed_with_errors`],
      ["run", `/runs/${seeded.runId}`],
      ["search", "/search?q=retry+with+backoff"],
      ["API keys", "/keys"],
      ["audit log", "/audit"],
      ["dead-letter queue", "/dlq"],
      ["dead letters, resolved", "/dlq?status=resolved"],
      ["breakers and limits", "/breakers"],
      ["traces", "/traces"],
      ["traces, by run", `/traces?run=${seeded.runId}`],
      ["approvals", "/approvals"],
      ["replays", "/replays"],
      ["alerts", "/alerts"],
    ];
    const only = options.only;
    if (only && only.length > 0)
      pages.splice(
        0,
        pages.length,
        ...pages.filter(([page]) => only.some((o) => page.includes(o))),
      );
    const timings: PageTiming[] = [];
    for (const [page, target] of pages) {
      const samples: number[] = [];
      let lastStatus = 0;
      for (let i = 0; i < options.requests + 5; i++) {
        const started = performance.now();
        const response = await fetch(`${app.url}${target}`, {
          headers: page === "login" ? {} : { cookie },
          redirect: "manual",
        });
        await response.arrayBuffer();
        lastStatus = response.status;
        if (i >= 5) samples.push(performance.now() - started);
      }
      if (lastStatus !== 200) throw new Error(`${target} answered ${lastStatus}`);
      const sorted = samples.sort((a, b) => a - b);
      timings.push({
        page,
        path: target,
        status: lastStatus,
        p50Ms: Math.round(percentile(sorted, 50) * 10) / 10,
        p95Ms: Math.round(percentile(sorted, 95) * 10) / 10,
        maxMs: Math.round((sorted.at(-1) ?? 0) * 10) / 10,
      });
      status(`console: ${page} p50 ${timings.at(-1)?.p50Ms} ms, p95 ${timings.at(-1)?.p95Ms} ms`);
    }
    const firstLoadJs: ConsoleMeasurement["firstLoadJs"] = [];
    if (options.firstLoadJs !== false) {
      status("console: first-load JavaScript per page in Chromium");
      const browser = await launchBrowser();
      try {
        for (const [page, target] of pages) {
          const context = await browser.newContext();
          const [name, value] = (cookie ?? "").split("=");
          if (page !== "login")
            await context.addCookies([{ name: name ?? "", value: value ?? "", url: app.url }]);
          const tab = await context.newPage();
          const scripts: Promise<number>[] = [];
          tab.on("requestfinished", (request) => {
            if (request.resourceType() === "script")
              scripts.push(request.sizes().then((s) => s.responseBodySize));
          });
          await tab.goto(`${app.url}${target}`, { waitUntil: "networkidle" });
          const sizes = await Promise.all(scripts);
          firstLoadJs.push({
            page,
            bytes: sizes.reduce((a, b) => a + b, 0),
            scripts: sizes.length,
          });
          await context.close();
        }
      } finally {
        await browser.close();
      }
    }
    return {
      runs: options.runs,
      chunks: seeded.chunks,
      requestsPerPage: options.requests,
      pages: timings,
      firstLoadJs,
    };
  } finally {
    await app.stop();
  }
}

/**
 * A source named `sourceName` with `chunks` chunks (ten a document, random vectors of the
 * embedder's dimensions, inserted with SQL) and its HNSW index, in the database of `dataDir`.
 */
export async function seedSyntheticIndex(
  dataDir: string,
  root: string,
  sourceName: string,
  chunks: number,
  status: (message: string) => void,
): Promise<void> {
  const bench = await openBenchRuntime(dataDir, root);
  try {
    const { db, embedder } = bench.runtime;
    const source = await addSource(db, parseNewSource({ location: root, name: sourceName }));
    status(`seeding ${chunks} chunks (${embedder.dimensions}-dimension random vectors) with SQL`);
    const perDoc = 10;
    for (let offset = 0; offset < chunks; offset += 10_000) {
      const n = Math.min(10_000, chunks - offset);
      await db.execute(sql`
        with docs as (
          insert into documents (source_id, path, content_hash, config_hash, byte_size, line_count, chunk_count)
          select ${source.id}, 'src/module-' || (${sql.raw(String(offset / perDoc))} + d) || '.ts', md5(d::text), 'bench', 5000, 120, ${sql.raw(String(perDoc))}
          from generate_series(1, ${sql.raw(String(Math.ceil(n / perDoc)))}) d
          returning id, path)
        insert into chunks (id, document_id, source_id, path, ordinal, start_line, end_line, kind, content, content_hash, token_count, embedding_space, dims, embedding)
        select md5(docs.path || o), docs.id, ${source.id}, docs.path, o, o * 12, o * 12 + 11, 'code',
               'export function retryWithBackoff' || o || '(attempt: number) { return schedule(attempt * ' || o || ', jitter); } // ' || docs.path,
               md5(docs.path || o || 'c'), 40, ${embedder.space}, ${sql.raw(String(embedder.dimensions))},
               (select array_agg(random() - 0.5 + 0 * v + 0 * o)::vector from generate_series(1, ${sql.raw(String(embedder.dimensions))}) v)
        from docs, generate_series(0, ${sql.raw(String(perDoc - 1))}) o`);
      status(`  ${Math.min(chunks, offset + n)} chunks`);
    }
    status("building the HNSW index");
    await ensureVectorIndex(
      db,
      { space: embedder.space, dimensions: embedder.dimensions, sourceId: source.id },
      { maintenanceWorkMem: "512MB" },
    );
  } finally {
    await bench.runtime.close();
  }
}

/** Standalone: a synthetic index of `chunks` chunks (random vectors, SQL), then measureConsole. */
async function standalone(): Promise<void> {
  const args = new Map<string, string>();
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (a === "--skip-js") args.set(a, "1");
    else args.set(a, argv[++i] ?? "");
  }
  const chunks = Number(args.get("--chunks") ?? 100_000);
  const runs = Number(args.get("--runs") ?? 10_000);
  const requests = Number(args.get("--requests") ?? 40);
  const root = path.resolve(import.meta.dirname, "..");
  const kept = args.get("--data-dir");
  const tmp = kept
    ? path.resolve(kept)
    : await mkdtemp(path.join(os.tmpdir(), "ballast-bench-console-"));
  const started = Date.now();
  const status = (m: string) =>
    process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${m}\n`);
  try {
    // --data-dir: seeded once (chunks and runs), reused by later measurements.
    const dataDir = kept ? tmp : path.join(tmp, "data");
    const marker = path.join(dataDir, "seeded.json");
    const reuse = kept !== undefined && existsSync(marker);
    if (!reuse) {
      await mkdir(dataDir, { recursive: true });
      await seedSyntheticIndex(dataDir, root, "bench-console", chunks, status);
    }
    if (kept && !reuse) {
      status(`console: seeding ${runs} runs with SQL`);
      const seeded = await seedRuns(dataDir, root, "bench-console", runs);
      await writeFile(marker, JSON.stringify({ chunks: seeded.chunks, runs }));
    }
    const result = await measureConsole({
      root,
      dataDir,
      sourceName: "bench-console",
      runs,
      requests,
      status,
      seeded: kept !== undefined,
      only: args.get("--only")?.split(","),
      firstLoadJs: !args.has("--skip-js"),
    });
    const out = (line = "") => process.stdout.write(`${line}\n`);
    out(
      `Console pages with ${result.chunks.toLocaleString("en-US")} chunks and ${runs.toLocaleString("en-US")} runs (${requests} requests each after 5 warm-up; ${os.cpus().length} × ${os.cpus()[0]?.model})`,
    );
    out("page                    p50 ms   p95 ms   max ms   first-load JS (gzip)");
    for (const t of result.pages) {
      const js = result.firstLoadJs.find((j) => j.page === t.page);
      out(
        `${t.page.padEnd(23)} ${String(t.p50Ms).padStart(6)}   ${String(t.p95Ms).padStart(6)}   ${String(t.maxMs).padStart(6)}   ${((js?.bytes ?? 0) / 1024).toFixed(1)} kB in ${js?.scripts ?? 0} scripts`,
      );
    }
    const worst = Math.max(...result.pages.map((p) => p.p95Ms));
    const heaviest = Math.max(...result.firstLoadJs.map((p) => p.bytes));
    out(
      `targets: p95 < ${CONSOLE_TARGETS.pageP95Ms} ms per page (worst ${worst} ms: ${worst < CONSOLE_TARGETS.pageP95Ms ? "PASS" : "FAIL"}); ${result.firstLoadJs.length === 0 ? "first-load JS not measured (--skip-js)" : `first-load JS < 200 kB (largest ${(heaviest / 1024).toFixed(1)} kB: ${heaviest < CONSOLE_TARGETS.firstLoadJsBytes ? "PASS" : "FAIL"})`}; load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
    );
  } finally {
    if (!kept) await rm(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href)
  standalone().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error("console bench failed:", error);
      process.exit(1);
    },
  );
