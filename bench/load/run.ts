import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Table from "cli-table3";
import { Command, InvalidArgumentError } from "commander";
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/client";
import {
  type AppServer,
  baseEnv,
  ensureBuilt,
  freePort,
  startServer,
  waitForLive,
} from "../../tests/support/app-server";
import { FakeGitHub } from "../../tests/support/fake-github";
import { machineInfo } from "../machine";
import { writeResults } from "../report";
import { openBenchRuntime } from "../runtime";
import { makeQueries } from "../search";
import { type Comparison, compareResults, parseLoadResult } from "./compare";
import { brokenCriterion, CRITERIA, diagnose } from "./diagnose";
import { LivenessProbe, type RequestPlan, runPhase } from "./drive";
import { PushDeliveries } from "./payloads";
import { procAvailable } from "./process-stats";
import { type PreparedData, prepareData } from "./setup";
import {
  type BreakingPoint,
  ENDPOINTS,
  type Endpoint,
  type LoadResult,
  type PhaseFigures,
  type WebhookIntegrity,
} from "./types";

/**
 * `npm run load`: the app under load, on the embedded defaults (`next start`, PGlite served
 * by the app, the in-process Redis store, the archive folder, the local embedder, the app's
 * embedded workflow runner), on 127.0.0.1 only. Per endpoint — signed GitHub push deliveries,
 * /api/search with a viewer key over the bench index, /api/health — a closed-loop baseline,
 * then the breaking point: concurrency doubled each step until more than 1 % errors or a p99
 * over 1 s. Afterwards every webhook answered 2xx is looked up in the database. Prints tables,
 * writes bench/results/load-<date>.json and load-latest.json; `--compare FILE` flags figures
 * more than 10 % worse than FILE's and exits 1 when any is.
 */
const ROOT = path.resolve(import.meta.dirname, "..", "..");
const RESULTS_DIR = path.join(ROOT, "bench", "results");
const SECRET = `load-webhook-secret-${randomBytes(8).toString("hex")}`;

interface Options {
  quick?: boolean;
  files?: number;
  seed: string;
  endpoints: Endpoint[];
  baselineSeconds?: number;
  stepSeconds?: number;
  connections: number;
  maxConnections: number;
  trackedShare: number;
  trackedRepositories: number;
  breaking: boolean;
  drainSeconds?: number;
  compare?: string;
  current?: string;
  threshold: number;
  keep?: boolean;
}

function int(min: number, max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    return n;
  };
}

function share(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError("must be from 0 to 1");
  return n;
}

function endpointList(value: string): Endpoint[] {
  const list = value.split(",").map((v) => v.trim());
  for (const e of list)
    if (!(ENDPOINTS as readonly string[]).includes(e))
      throw new InvalidArgumentError(`unknown endpoint ${e} (${ENDPOINTS.join(", ")})`);
  return ENDPOINTS.filter((e) => list.includes(e));
}

const program = new Command()
  .name("load")
  .description("Ballast under load on the embedded defaults (see bench/load/run.ts)")
  .option("--quick", "1,000 files, 3 s phases, concurrency up to 64: a smoke run")
  .option(
    "--files <n>",
    "files in the indexed corpus (default 10000; quick 1000)",
    int(100, 100_000),
  )
  .option("--seed <seed>", "corpus seed", "ballast-bench-1")
  .option("--endpoints <list>", "which endpoints", endpointList, [...ENDPOINTS])
  .option("--baseline-seconds <n>", "length of each baseline (default 20; quick 3)", int(1, 600))
  .option(
    "--step-seconds <n>",
    "length of each breaking-point step (default 10; quick 3)",
    int(1, 600),
  )
  .option("--connections <n>", "baseline concurrency", int(1, 1024), 10)
  .option(
    "--max-connections <n>",
    "highest concurrency tried (default 512; quick 64)",
    int(1, 4096),
  )
  .option("--tracked-share <0-1>", "share of pushes to a tracked branch", share, 0.1)
  .option("--tracked-repositories <n>", "tracked GitHub sources", int(1, 500), 20)
  .option("--no-breaking", "baselines only")
  .option(
    "--drain-seconds <n>",
    "after a webhook phase, wait this long for the runner's backlog (default 60; quick 10)",
    int(0, 3600),
  )
  .option(
    "--compare <file>",
    "compare with this earlier result; exit 1 on a figure > threshold worse",
  )
  .option(
    "--current <file>",
    "with --compare: compare this result file instead of running the load",
  )
  .option("--threshold <fraction>", "how much worse is a regression", share, 0.1)
  .option("--keep", "keep the temporary data directory");

const started = Date.now();
function status(message: string): void {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);
}

function out(text = ""): void {
  process.stdout.write(`${text}\n`);
}

const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;
const ms = (n: number) => (n >= 100 ? `${Math.round(n)}` : n.toFixed(1));

function versionOf(pkg: string): string {
  try {
    return (
      JSON.parse(readFileSync(path.join(ROOT, "node_modules", pkg, "package.json"), "utf8")) as {
        version: string;
      }
    ).version;
  } catch {
    return "unknown";
  }
}

/** Jobs the app's embedded runner still has (pending + running), from the viewer health report. */
async function runnerBacklog(url: string, key: string): Promise<number | null> {
  try {
    const response = await fetch(`${url}/api/health`, {
      headers: { authorization: `Bearer ${key}` },
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await response.json()) as { parts?: { workflows?: { detail?: string } } };
    const match = /jobs: (\d+) pending, (\d+) running/.exec(body.parts?.workflows?.detail ?? "");
    return match ? Number(match[1]) + Number(match[2]) : null;
  } catch {
    return null;
  }
}

async function drain(
  url: string,
  key: string,
  maxSeconds: number,
): Promise<{ jobsLeft: number; drainMs: number }> {
  const begun = performance.now();
  let left = (await runnerBacklog(url, key)) ?? -1;
  while (left > 0 && performance.now() - begun < maxSeconds * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    left = (await runnerBacklog(url, key)) ?? left;
  }
  return { jobsLeft: left, drainMs: Math.round(performance.now() - begun) };
}

interface WebhookLedger {
  /** delivery id → sync requests queued (from the 2xx body). */
  accepted: Map<string, number>;
  otherStatuses: Map<number, number>;
}

function plans(
  data: PreparedData,
  deliveries: PushDeliveries,
  ledger: WebhookLedger,
  seed: string,
): Record<Endpoint, RequestPlan> {
  const queries = makeQueries(`${seed}:load`, 2000);
  let q = 0;
  return {
    webhook: {
      method: "POST",
      path: "/api/webhooks/github",
      next: () => {
        const d = deliveries.next();
        return { body: d.body, headers: d.headers };
      },
      onResponse: (status, body) => {
        if (status >= 200 && status < 300) {
          try {
            const answer = JSON.parse(body) as { deliveryId?: string; queued?: number };
            if (answer.deliveryId) ledger.accepted.set(answer.deliveryId, answer.queued ?? 0);
          } catch {
            ledger.otherStatuses.set(-1, (ledger.otherStatuses.get(-1) ?? 0) + 1);
          }
        } else ledger.otherStatuses.set(status, (ledger.otherStatuses.get(status) ?? 0) + 1);
      },
    },
    search: {
      method: "GET",
      path: "/api/search",
      headers: { authorization: `Bearer ${data.viewerKey}` },
      next: () => {
        const query = queries[q++ % queries.length] as string;
        return { path: `/api/search?q=${encodeURIComponent(query)}&k=10` };
      },
    },
    health: { method: "GET", path: "/api/health" },
  };
}

/** After the server stopped: is every 2xx delivery in webhook_deliveries, every queued sync in the outbox? */
async function checkIntegrity(
  dataDir: string,
  prefix: string,
  ledger: WebhookLedger,
): Promise<WebhookIntegrity> {
  const bench = await openBenchRuntime(dataDir, ROOT);
  try {
    const { db } = bench.runtime;
    const stored = new Set(
      rowsOf<{ delivery_id: string }>(
        await db.execute(
          sql`select delivery_id from webhook_deliveries where delivery_id like ${`${prefix}-%`}`,
        ),
      ).map((r) => r.delivery_id),
    );
    const outbox = new Map<string, number>();
    for (const row of rowsOf<{ id: string }>(
      await db.execute(sql`select id from outbox_events where id like ${`github:${prefix}-%`}`),
    )) {
      const delivery = row.id.split(":")[1] as string;
      outbox.set(delivery, (outbox.get(delivery) ?? 0) + 1);
    }
    let storedAccepted = 0;
    let queued = 0;
    let inOutbox = 0;
    for (const [id, n] of ledger.accepted) {
      if (stored.has(id)) storedAccepted++;
      queued += n;
      inOutbox += Math.min(n, outbox.get(id) ?? 0);
    }
    return {
      accepted: ledger.accepted.size,
      stored: storedAccepted,
      queued,
      inOutbox,
      lost: ledger.accepted.size - storedAccepted + (queued - inOutbox),
    };
  } finally {
    await bench.runtime.close();
  }
}

function phaseTable(rows: PhaseFigures[], withVerdict: boolean): string {
  const head = [
    "endpoint",
    "conns",
    "req/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "errors",
    "server CPU",
    "main thread",
    "db worker",
    "machine",
    "RSS peak",
    "probe p99",
  ];
  if (withVerdict) head.push("verdict");
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const r of rows) {
    const row = [
      r.endpoint,
      String(r.connections),
      String(r.rps),
      ms(r.latency.p50),
      ms(r.latency.p95),
      ms(r.latency.p99),
      `${(r.errorRate * 100).toFixed(2)} %`,
      `${r.server.cpuPercent} %`,
      `${r.server.mainThreadCpuPercent} %`,
      `${r.server.workerThreadCpuPercent} %`,
      `${r.machineBusyPercent} %`,
      mib(r.server.rssPeakBytes),
      `${ms(r.probe.p99)} ms`,
    ];
    if (withVerdict) row.push(brokenCriterion(r) ? "FAIL" : "ok");
    table.push(row);
  }
  return table.toString();
}

function comparisonTable(comparison: Comparison): string {
  const table = new Table({
    head: ["figure", "baseline", "now", "worse by", ""],
    style: { head: [], border: [] },
  });
  const show = (v: number | null, unit: string) =>
    v === null ? "—" : `${Math.round(v * 100) / 100}${unit ? ` ${unit}` : ""}`;
  for (const row of comparison.rows)
    table.push([
      row.label,
      show(row.baseline, row.unit),
      show(row.current, row.unit),
      row.worseBy === null ? "" : `${(row.worseBy * 100).toFixed(1)} %`,
      row.flagged ? `REGRESSION ${row.note}` : row.note,
    ]);
  return table.toString();
}

function printComparison(baselineFile: string, comparison: Comparison, threshold: number): number {
  out(`\nCompared with ${baselineFile} (a figure is flagged when > ${threshold * 100} % worse):`);
  out(comparisonTable(comparison));
  for (const w of comparison.warnings) out(`warning: ${w}`);
  if (comparison.flagged.length === 0) {
    out("No regression.");
    return 0;
  }
  out(
    `${comparison.flagged.length} regression(s): ${comparison.flagged.map((f) => f.label).join("; ")}`,
  );
  return 1;
}

async function runLoad(opts: Options): Promise<LoadResult> {
  const quick = opts.quick === true;
  const files = opts.files ?? (quick ? 1000 : 10_000);
  const baselineSeconds = opts.baselineSeconds ?? (quick ? 3 : 20);
  const stepSeconds = opts.stepSeconds ?? (quick ? 3 : 10);
  const maxConnections = opts.maxConnections ?? (quick ? 64 : 512);
  const drainSeconds = opts.drainSeconds ?? (quick ? 10 : 60);
  const startedAt = new Date();
  const machine = await machineInfo(ROOT);
  status(
    `machine: ${machine.cpuCount}× ${machine.cpuModel}, ${(machine.totalMemoryBytes / 1024 ** 3).toFixed(0)} GiB, Node ${machine.node}, load ${machine.loadAverageAtStart.join(" ")}`,
  );

  const workDir = await mkdtemp(path.join(os.tmpdir(), "ballast-load-"));
  const runId = randomBytes(4).toString("hex");
  let server: AppServer | undefined;
  let github: FakeGitHub | undefined;
  let result: LoadResult | undefined;
  try {
    const data = await prepareData({
      root: ROOT,
      workDir,
      files,
      seed: opts.seed,
      trackedRepositories: opts.trackedRepositories,
      status,
    });
    github = await FakeGitHub.start({
      repos: Object.fromEntries(data.tracked.map((t) => [t, data.trackedRepoDir])),
    });
    status("building the app if needed (next build)");
    await ensureBuilt();
    const port = await freePort();
    server = startServer(
      baseEnv(data.dataDir, {
        GITHUB_API_URL: github.url,
        GITHUB_TOKEN: github.token,
        GITHUB_WEBHOOK_SECRET: SECRET,
        LOG_LEVEL: "warn",
      }),
      port,
    );
    await waitForLive(server.url, server.child).catch((error: Error) => {
      throw new Error(`${error.message}\n${server?.output() ?? ""}`);
    });
    const pid = server.child.pid as number;
    if (!(await procAvailable(pid)))
      throw new Error("npm run load reads /proc: it runs on Linux only");
    // Warm up: the first requests compile routes and open the backends.
    const health = await fetch(`${server.url}/api/health`, {
      headers: { authorization: `Bearer ${data.viewerKey}` },
    });
    const healthBody = (await health.json()) as {
      status: string;
      parts: Record<string, { backend: string; status: string }>;
    };
    if (health.status !== 200)
      throw new Error(`the app is not ready: ${JSON.stringify(healthBody)}`);
    const backends = Object.fromEntries(
      Object.entries(healthBody.parts).map(([name, part]) => [name, part.backend]),
    );
    status(`the app is ready on ${server.url} (pid ${pid}): ${JSON.stringify(backends)}`);

    const deliveries = new PushDeliveries(
      {
        tracked: data.tracked,
        trackedHead: data.trackedHead,
        trackedShare: opts.trackedShare,
        seed: opts.seed,
      },
      SECRET,
      runId,
    );
    const ledger: WebhookLedger = { accepted: new Map(), otherStatuses: new Map() };
    const requestPlans = plans(data, deliveries, ledger, opts.seed);
    for (const endpoint of opts.endpoints)
      await runPhase({
        url: server.url,
        endpoint,
        connections: 2,
        durationS: 1,
        plan: requestPlans[endpoint],
        serverPid: pid,
      });
    if (opts.endpoints.includes("webhook")) await drain(server.url, data.viewerKey, drainSeconds);

    status("idle liveness probe (5 s)");
    const idle = new LivenessProbe(server.url);
    idle.start();
    await new Promise((r) => setTimeout(r, 5000));
    const idleProbe = idle.stop();

    const phase = async (endpoint: Endpoint, connections: number, durationS: number) => {
      const figures = await runPhase({
        url: server?.url as string,
        endpoint,
        connections,
        durationS,
        plan: requestPlans[endpoint],
        serverPid: pid,
      });
      if (endpoint === "webhook")
        figures.backlog = await drain(server?.url as string, data.viewerKey, drainSeconds);
      status(
        `${endpoint} × ${connections}: ${figures.rps} req/s, p99 ${ms(figures.latency.p99)} ms, errors ${(figures.errorRate * 100).toFixed(2)} %, server CPU ${figures.server.cpuPercent} %${figures.backlog ? `, runner backlog ${figures.backlog.jobsLeft} after ${figures.backlog.drainMs} ms` : ""}`,
      );
      return figures;
    };

    // Per endpoint, its baseline then its breaking point; webhooks last (their runs keep the
    // app's runner busy after the load stops).
    const baseline: LoadResult["baseline"] = {};
    const breaking: LoadResult["breaking"] = {};
    for (const endpoint of opts.endpoints) {
      status(`baseline: ${endpoint}, ${opts.connections} connections, ${baselineSeconds} s`);
      baseline[endpoint] = await phase(endpoint, opts.connections, baselineSeconds);
      if (!opts.breaking) continue;
      const point: BreakingPoint = {
        endpoint,
        steps: [],
        lastGood: null,
        firstBad: null,
        reason: null,
        saturated: null,
      };
      for (let connections = 1; connections <= maxConnections; connections *= 2) {
        status(`breaking point: ${endpoint}, ${connections} connections, ${stepSeconds} s`);
        const step = await phase(endpoint, connections, stepSeconds);
        point.steps.push(step);
        const broken = brokenCriterion(step);
        if (broken) {
          point.firstBad = step;
          point.reason = broken;
          point.saturated = diagnose(step, point.lastGood, machine, idleProbe.p99);
          break;
        }
        point.lastGood = step;
      }
      breaking[endpoint] = point;
    }

    status("stopping the app");
    await server.stop();
    const output = server.output();
    await writeFile(path.join(workDir, "server.log"), output);
    server = undefined;
    let webhookIntegrity: WebhookIntegrity | null = null;
    if (opts.endpoints.includes("webhook")) {
      status("counting the accepted deliveries in webhook_deliveries and outbox_events");
      webhookIntegrity = await checkIntegrity(data.dataDir, `load-${runId}`, ledger);
    }

    const finishedAt = new Date();
    const [one = 0, five = 0, fifteen = 0] = os.loadavg();
    result = {
      kind: "ballast-load",
      version: 1,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      machine: {
        ...machine,
        loadAverageAtEnd: [one, five, fifteen].map((n) => Math.round(n * 100) / 100) as [
          number,
          number,
          number,
        ],
      },
      environment: {
        next: versionOf("next"),
        pglite: versionOf("@electric-sql/pglite"),
        autocannon: versionOf("autocannon"),
        backends,
        server:
          "next start on 127.0.0.1, embedded defaults (BALLAST_ENV=development), LOG_LEVEL=warn",
      },
      options: {
        quick,
        files,
        baselineSeconds,
        stepSeconds,
        connections: opts.connections,
        maxConnections,
        trackedShare: opts.trackedShare,
        trackedRepositories: opts.trackedRepositories,
        breaking: opts.breaking,
      },
      corpus: data.corpus,
      idleProbeMs: { p50: idleProbe.p50, p99: idleProbe.p99 },
      baseline,
      breaking,
      webhookIntegrity,
    };
    return result;
  } finally {
    await server?.stop();
    await github?.close();
    if (opts.keep) status(`kept ${workDir}`);
    else await rm(workDir, { recursive: true, force: true });
  }
}

function printResult(result: LoadResult): void {
  const m = result.machine;
  out(
    `\nBallast load — ${m.cpuCount}× ${m.cpuModel}, ${(m.totalMemoryBytes / 1024 ** 3).toFixed(0)} GiB, Node ${m.node}, Next ${result.environment.next}, PGlite ${result.environment.pglite}, autocannon ${result.environment.autocannon}`,
  );
  out(
    `commit ${m.gitCommit.slice(0, 12)}${m.gitDirty ? " (dirty)" : ""}; load average ${m.loadAverageAtStart.join(" ")} at the start, ${m.loadAverageAtEnd.join(" ")} at the end`,
  );
  out(
    `backends: ${Object.entries(result.environment.backends)
      .map(([k, v]) => `${k} ${v}`)
      .join(
        ", ",
      )}; index: ${result.corpus.files} files, ${result.corpus.chunks} chunks; idle liveness probe p50 ${result.idleProbeMs.p50} ms, p99 ${result.idleProbeMs.p99} ms`,
  );
  out(
    `\nBaseline (${result.options.connections} connections, ${result.options.baselineSeconds} s each):`,
  );
  out(phaseTable(Object.values(result.baseline), false));
  for (const point of Object.values(result.breaking)) {
    out(
      `\nBreaking point, ${point.endpoint}: concurrency doubled every ${result.options.stepSeconds} s until errors > ${CRITERIA.maxErrorRate * 100} % or p99 > ${CRITERIA.maxP99Ms} ms`,
    );
    out(phaseTable(point.steps, true));
    out(
      point.lastGood
        ? `last good: ${point.lastGood.connections} connections, ${point.lastGood.rps} req/s, p99 ${ms(point.lastGood.latency.p99)} ms`
        : "last good: none (the first step failed)",
    );
    if (point.firstBad) {
      out(`first bad: ${point.firstBad.connections} connections — ${point.reason}`);
      out(`saturated first: ${point.saturated}`);
    } else out(`not reached up to ${result.options.maxConnections} connections`);
  }
  const w = result.webhookIntegrity;
  if (w)
    out(
      `\nWebhooks: ${w.accepted} answered 2xx, ${w.stored} in webhook_deliveries; ${w.queued} sync requests queued, ${w.inOutbox} in outbox_events — ${w.lost === 0 ? "none lost" : `${w.lost} LOST`}`,
    );
}

async function main(): Promise<number> {
  const opts = program.parse(process.argv).opts<Options>();
  if (opts.current && !opts.compare) throw new Error("--current needs --compare <baseline file>");
  let result: LoadResult;
  if (opts.current) {
    result = parseLoadResult(await readFile(opts.current, "utf8"), opts.current);
  } else {
    const baselineText = opts.compare ? await readFile(opts.compare, "utf8") : undefined;
    if (baselineText && opts.compare) parseLoadResult(baselineText, opts.compare); // fail before an hour of load
    result = await runLoad(opts);
    printResult(result);
    const written = await writeResults(RESULTS_DIR, new Date(result.startedAt), result, "load");
    out(`\nResults: ${written.map((f) => path.relative(ROOT, f)).join(", ")}`);
  }
  let code = 0;
  if (result.webhookIntegrity && result.webhookIntegrity.lost > 0) code = 1;
  if (opts.compare) {
    const baseline = parseLoadResult(await readFile(opts.compare, "utf8"), opts.compare);
    code = Math.max(
      code,
      printComparison(
        opts.compare,
        compareResults(baseline, result, opts.threshold),
        opts.threshold,
      ),
    );
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `load failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(2);
  },
);
