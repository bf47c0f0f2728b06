import { spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { openBenchRuntime } from "./runtime";
import { addGitSource, measureSync } from "./sync";

/**
 * Traces in the bench:
 *   - full-sync throughput with tracing on ÷ tracing off, measured in this run, interleaved
 *     off, on, off, on… (each on a fresh database; median of each side) so drift on a shared
 *     machine hits both;
 *   - archive + verify of one day of trace rows (1,000,000 by default): rows/s up to the
 *     moment the archive is verified (before any row is deleted), the delete after it, and the
 *     process's peak RSS during it (the archive is streamed: target < 300 MB).
 */
export const TRACE_TARGETS = {
  /** Files/min with tracing on ÷ off. */
  tracingThroughputRatio: 0.95,
  /** Peak RSS of archiving + verifying a day, bytes. */
  archivePeakRssBytes: 300 * 1024 * 1024,
};

export interface TracingOverhead {
  files: number;
  /** In the order they ran: off, on, off, on… */
  rounds: { tracing: boolean; wallMs: number; filesPerMinute: number; spans: number }[];
  offFilesPerMinute: number;
  onFilesPerMinute: number;
  /** Median on ÷ median off. */
  ratio: number;
  /** Each on round ÷ the off round just before it (the pairs the interleaving makes). */
  pairRatios: number[];
  /** The 1-minute load average when the measure started and ended (the machine is shared). */
  loadAverage: { start: number; end: number };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Full-sync throughput with tracing off and on, interleaved (off, on, off, on…, each a full
 * sync on a fresh database), `rounds` of each: drift and other helpers' load on a shared
 * machine hit both sides alike. The ratio is median(on) ÷ median(off) in files/min.
 */
export async function measureTracingOverhead(options: {
  root: string;
  repoDir: string;
  tmp: string;
  files: number;
  rounds: number;
  status: (message: string) => void;
}): Promise<TracingOverhead> {
  const rounds: TracingOverhead["rounds"] = [];
  const loadStart = loadavg()[0] ?? 0;
  for (let round = 0; round < options.rounds; round++) {
    for (const tracing of [false, true]) {
      const dataDir = path.join(options.tmp, `traces-${round}-${tracing ? "on" : "off"}`);
      await mkdir(dataDir, { recursive: true });
      const bench = await openBenchRuntime(dataDir, options.root, {
        TRACES_ENABLED: tracing ? "true" : "false",
      });
      try {
        const source = await addGitSource(bench, "bench-traces", options.repoDir);
        options.status(
          `traces: full sync with tracing ${tracing ? "on" : "off"} (round ${round + 1} of ${options.rounds})`,
        );
        const measured = await measureSync(bench, source.id);
        await bench.runtime.tracer.flush();
        const [row] = (
          (await bench.runtime.db.execute(sql`select count(*)::int as n from trace_spans`)) as {
            rows: { n: number }[];
          }
        ).rows;
        rounds.push({
          tracing,
          wallMs: measured.wallMs,
          filesPerMinute: options.files / (measured.wallMs / 60_000),
          spans: row?.n ?? 0,
        });
      } finally {
        await bench.runtime.close();
        await rm(dataDir, { recursive: true, force: true });
      }
    }
  }
  const of = (on: boolean) => rounds.filter((r) => r.tracing === on).map((r) => r.filesPerMinute);
  const offFilesPerMinute = median(of(false));
  const onFilesPerMinute = median(of(true));
  const pairRatios: number[] = [];
  for (let i = 1; i < rounds.length; i += 2)
    pairRatios.push(
      (rounds[i]?.filesPerMinute ?? 0) / (rounds[i - 1]?.filesPerMinute ?? Number.NaN),
    );
  return {
    files: options.files,
    rounds,
    offFilesPerMinute,
    onFilesPerMinute,
    ratio: onFilesPerMinute / offFilesPerMinute,
    pairRatios,
    loadAverage: { start: loadStart, end: loadavg()[0] ?? 0 },
  };
}

export interface ArchiveChildArgs {
  root: string;
  dataDir: string;
  rows: number;
}

export interface SeedChildResult {
  rows: number;
  seedMs: number;
}

export interface ArchiveChildResult {
  rows: number;
  archiveVerifyMs: number;
  deleteMs: number;
  gzipBytes: number;
  /** RSS of the archiving process with the database open, just before the archive. */
  rssBeforeBytes: number;
  /** Highest RSS of that process during the archive: sampled every 100 ms from a worker
   * thread, and its lifetime maxRSS at the end (nothing else ran in it). */
  peakRssBytes: number;
  rssAfterBytes: number;
  pageSize: number;
}

export interface ArchiveMeasurement extends ArchiveChildResult {
  seedMs: number;
  rowsPerSecond: number;
  /** peakRssBytes − rssBeforeBytes: what the archive itself added. */
  rssIncreaseBytes: number;
}

const CHILD = fileURLToPath(new URL("./trace-archive-child.ts", import.meta.url));

function spawnChild(mode: "seed" | "serve" | "archive", args: ArchiveChildArgs) {
  return spawn(
    process.execPath,
    ["--expose-gc", "--import", "tsx", CHILD, mode, JSON.stringify(args)],
    { cwd: args.root, stdio: [mode === "serve" ? "pipe" : "ignore", "pipe", "inherit"] },
  );
}

/** Runs bench/trace-archive-child.ts in its own Node process; resolves with its RESULT line. */
function runChild<T>(mode: "seed" | "archive", args: ArchiveChildArgs): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawnChild(mode, args);
    let stdout = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
      if (code === 0 && line) resolve(JSON.parse(line.slice("RESULT ".length)) as T);
      else
        reject(new Error(`trace archive ${mode} process ended with ${signal ?? `code ${code}`}`));
    });
  });
}

/**
 * One day of `rows` trace rows archived (streamed), verified, then deleted, in a process of its
 * own: a first child seeds the database (generate_series in SQL) and exits; a second serves it
 * (PGlite in a worker thread over its Unix socket, as the app does); a third connects to it and
 * archives, so its RSS is the runtime's plus the archive's, not PGlite's heap.
 */
export async function measureTraceArchive(options: {
  root: string;
  tmp: string;
  rows: number;
  status: (message: string) => void;
}): Promise<ArchiveMeasurement> {
  const dataDir = path.join(options.tmp, "traces-archive");
  await mkdir(dataDir, { recursive: true });
  const args: ArchiveChildArgs = { root: options.root, dataDir, rows: options.rows };
  try {
    options.status(
      `traces: seeding ${options.rows.toLocaleString("en-US")} trace rows for one day (child process)`,
    );
    const seeded = await runChild<SeedChildResult>("seed", args);
    if (seeded.rows !== options.rows)
      throw new Error(`seeded ${seeded.rows} rows, not ${options.rows}`);
    options.status(
      `traces: archiving and verifying ${seeded.rows.toLocaleString("en-US")} rows (child process)`,
    );
    // The database served by a process of its own (as the app serves it), the archive run by
    // another that connects to it: that process's RSS is the archive's, not PGlite's heap.
    const server = spawnChild("serve", args);
    const serverExit = new Promise<number | null>((resolve) => server.on("close", resolve));
    let archived: ArchiveChildResult;
    try {
      await new Promise<void>((resolve, reject) => {
        let out = "";
        server.stdout?.setEncoding("utf8");
        server.stdout?.on("data", (chunk: string) => {
          out += chunk;
          if (out.includes("READY\n")) resolve();
        });
        server.on("error", reject);
        server.on("close", (code) => reject(new Error(`the database server ended (${code})`)));
      });
      archived = await runChild<ArchiveChildResult>("archive", args);
    } finally {
      server.stdin?.end();
      await serverExit;
    }
    return {
      ...archived,
      seedMs: seeded.seedMs,
      rowsPerSecond: archived.rows / (archived.archiveVerifyMs / 1000),
      rssIncreaseBytes: archived.peakRssBytes - archived.rssBeforeBytes,
    };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
