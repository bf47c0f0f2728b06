import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { sql } from "drizzle-orm";
import { createArchiveStore } from "../lib/archive";
import { loadConfig } from "../lib/config";
import { createLogger } from "../lib/log/logger";
import { archiveDay, countDay } from "../lib/retention/archive";
import { TRACE_DATASET } from "../lib/retention/datasets";
import { createRuntime } from "../lib/runtime";
import { MemorySampler } from "./memory";
import { openBenchRuntime } from "./runtime";
import { addGitSource, measureSync } from "./sync";

/**
 * Traces in the bench:
 *   - full-sync throughput with tracing on ÷ tracing off, measured in this run, alternating
 *     off/on (each on a fresh database) so drift on a shared machine hits both;
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
  rounds: { tracing: boolean; wallMs: number; filesPerMinute: number; spans: number }[];
  offFilesPerMinute: number;
  onFilesPerMinute: number;
  ratio: number;
}

export async function measureTracingOverhead(options: {
  root: string;
  repoDir: string;
  tmp: string;
  files: number;
  rounds: number;
  status: (message: string) => void;
}): Promise<TracingOverhead> {
  const rounds: TracingOverhead["rounds"] = [];
  for (let round = 0; round < options.rounds; round++) {
    for (const tracing of round % 2 === 0 ? [false, true] : [true, false]) {
      const dataDir = path.join(options.tmp, `traces-${round}-${tracing ? "on" : "off"}`);
      await mkdir(dataDir, { recursive: true });
      const bench = await openBenchRuntime(dataDir, options.root, {
        TRACES_ENABLED: tracing ? "true" : "false",
      });
      try {
        const source = await addGitSource(bench, "bench-traces", options.repoDir);
        options.status(
          `traces: full sync with tracing ${tracing ? "on" : "off"} (round ${round + 1})`,
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
  const mean = (on: boolean) => {
    const of = rounds.filter((r) => r.tracing === on);
    // Throughput of the summed time, so one slow round weighs what it took.
    return options.files / (of.reduce((n, r) => n + r.wallMs, 0) / of.length / 60_000);
  };
  const offFilesPerMinute = mean(false);
  const onFilesPerMinute = mean(true);
  return {
    files: options.files,
    rounds,
    offFilesPerMinute,
    onFilesPerMinute,
    ratio: onFilesPerMinute / offFilesPerMinute,
  };
}

export interface ArchiveMeasurement {
  rows: number;
  seedMs: number;
  archiveVerifyMs: number;
  rowsPerSecond: number;
  deleteMs: number;
  gzipBytes: number;
  peakRssBytes: number;
  rssAtStartBytes: number;
}

/** One day of `rows` trace rows archived (streamed), verified, then deleted: timed and sampled. */
export async function measureTraceArchive(options: {
  root: string;
  tmp: string;
  rows: number;
  status: (message: string) => void;
}): Promise<ArchiveMeasurement> {
  const dataDir = path.join(options.tmp, "traces-archive");
  await mkdir(dataDir, { recursive: true });
  const config = loadConfig({
    BALLAST_ENV: "development",
    BALLAST_DATA_DIR: dataDir,
    PGLITE_DIR: path.join(dataDir, "pglite"),
    LOG_LEVEL: "warn",
  });
  const log = createLogger({
    level: "warn",
    secrets: [],
    destination: { write: (line: string) => process.stderr.write(line) },
  });
  const runtime = await createRuntime(config, {
    log,
    migrationsFolder: path.join(options.root, "db", "migrations"),
    archive: createArchiveStore({ backend: "folder", dir: path.join(dataDir, "archive") }),
  });
  const day = "2026-01-01";
  try {
    options.status(
      `traces: seeding ${options.rows.toLocaleString("en-US")} trace rows for one day`,
    );
    const seedStarted = performance.now();
    // Rows shaped like real envelopes: ids, names, summaries, some errors.
    for (let offset = 0; offset < options.rows; offset += 100_000) {
      const n = Math.min(100_000, options.rows - offset);
      await runtime.db.execute(sql`
        insert into trace_spans (span_id, trace_id, parent_span_id, correlation_id, kind, name, function, driver,
          run_id, source_id, event_id, attempt, status, error_class, error_message, started_at, ended_at, duration_ms,
          input, output, attributes)
        select lpad(to_hex(${offset} + g), 16, '0'), md5('t' || ((${offset} + g) / 50)), lpad(to_hex((${offset} + g) / 50), 16, 'a'),
          'bench:' || ((${offset} + g) / 50), case when g % 4 = 0 then 'external' else 'step' end,
          case when g % 4 = 0 then 'git.cat-file' else 'process-batch' end, 'process-batch', 'inline',
          gen_random_uuid(), gen_random_uuid(), 'evt-' || g, 1 + (g % 3 = 0)::int,
          case when g % 50 = 0 then 'error' else 'ok' end,
          case when g % 50 = 0 then 'UnavailableError:unavailable' end,
          case when g % 50 = 0 then 'upstream failed: HTTP 503 after 3 attempts' end,
          ${`${day}T00:00:00Z`}::timestamptz + ((${offset} + g) * interval '86 milliseconds'),
          ${`${day}T00:00:00Z`}::timestamptz + ((${offset} + g) * interval '86 milliseconds') + interval '12 milliseconds',
          12.5 + (g % 100), '{"type":"object","bytes":120,"keys":4,"sha256":"0123456789abcdef"}'::jsonb,
          jsonb_build_object('type', 'object', 'bytes', 80, 'counts', jsonb_build_object('processed', g % 100, 'failed', 0)),
          '{"op":"run","event":"source/batch.requested"}'::jsonb
        from generate_series(1, ${n}) as g`);
    }
    const seedMs = performance.now() - seedStarted;
    const rows = await countDay(runtime.db, TRACE_DATASET, day);
    options.status(`traces: archiving and verifying ${rows.toLocaleString("en-US")} rows`);
    const sampler = await new MemorySampler(100).start();
    const started = performance.now();
    let verifiedAt = 0;
    let gzipBytes = 0;
    const outcome = await archiveDay(runtime.db, runtime.archive, TRACE_DATASET, day, {
      beforeDelete: (manifest) => {
        verifiedAt = performance.now();
        gzipBytes = manifest.bytes;
      },
    });
    const ended = performance.now();
    const memory = await sampler.stop();
    if (outcome.deletedRows !== rows) throw new Error(`deleted ${outcome.deletedRows} of ${rows}`);
    const archiveVerifyMs = verifiedAt - started;
    return {
      rows,
      seedMs,
      archiveVerifyMs,
      rowsPerSecond: rows / (archiveVerifyMs / 1000),
      deleteMs: ended - verifiedAt,
      gzipBytes,
      peakRssBytes: Math.max(
        memory.peakRssBytes,
        memory.maxRssBytes > memory.maxRssAtStartBytes ? memory.maxRssBytes : 0,
      ),
      rssAtStartBytes: memory.rssAtStartBytes,
    };
  } finally {
    await runtime.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
