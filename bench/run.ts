import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { compareChunkers } from "./chunker";
import { CONSOLE_TARGETS, type ConsoleMeasurement, measureConsole } from "./console";
import { type CorpusManifest, ensureCorpus, readCorpusFiles } from "./corpus/generate";
import { type EvalSetResult, runGoldenSets } from "./eval";
import { type FreshnessMeasurement, measureFreshness } from "./freshness";
import { git } from "./git";
import { machineInfo } from "./machine";
import { type MemoryReport, MemorySampler } from "./memory";
import { MONITOR_TARGETS, type MonitorMeasurement, measureMonitor } from "./monitor";
import { openPeer, type PeerSearch, type PeerSync } from "./peer";
import { PhaseProfiler, type ProfileEntry, type ProfileSummary } from "./profile";
import { measureRecovery, RECOVERY_TARGETS, type RecoveryMeasurement } from "./recovery";
import { measureReplay, type ReplayBenchResult } from "./replay";
import { gib, int, mib, Report, seconds, writeResults } from "./report";
import { type BenchRuntime, openBenchRuntime } from "./runtime";
import {
  type EfSweepPoint,
  makeQueries,
  measureEfSweep,
  measureRecall,
  measureSearch,
  type RecallMeasurement,
  type SearchMeasurement,
} from "./search";
import { SqlTimer, type SqlTimingEntry } from "./sql-timing";
import {
  addGitSource,
  type ChangeSet,
  commitChanges,
  countChunks,
  measureSync,
  type SyncMeasurement,
} from "./sync";
import {
  type ArchiveMeasurement,
  measureTraceArchive,
  measureTracingOverhead,
  TRACE_TARGETS,
  type TracingOverhead,
} from "./traces";

/**
 * `npm run bench`: Ballast's performance on the embedded default (persisted PGlite, in-process
 * Redis store, archive folder, local embedder), driven through the same lib/ functions as
 * `npx ballast sync`. Prints the machine, a table of every figure with its target, and writes
 * the same to bench/results/. Exit code 0 even when a target fails; non-zero when the bench
 * itself fails.
 */

const ROOT = path.resolve(import.meta.dirname, "..");
const RESULTS_DIR = path.join(ROOT, "bench", "results");
const CACHE_DIR = path.join(ROOT, ".data", "bench-cache");
const PROFILE_DIR = path.join(ROOT, ".data", "bench-profiles");

const TARGETS = {
  documentsPerMinute: 10_000,
  peakRssBytes: 1.5 * 1024 ** 3,
  incrementalMs: 3_000,
  searchP95Ms: 20,
  searchChunks: 100_000,
  freshnessP95Ms: 3_000,
  largeSearchChunks: 500_000,
  vectorRecallAt10: 0.95,
  growthDocumentsPerMinute: 10_000,
  eventLoopStallMs: 200,
  /** hybrid recall@5 ≥ BM25's × this, per golden set. */
  recallGainOverBm25: 1.1,
  /** Ballast ÷ LangChain indexing API, files per minute of a full sync incl. the vector index. */
  fullSyncVsPeer: 1.5,
  /** LangChain's incremental time ÷ Ballast's. */
  incrementalVsPeer: 10,
  /** Full-sync documents/minute with the parity ledger ÷ without it. */
  ledgerThroughputRatio: 0.95,
};
const FRESHNESS_PUSHES = 20;
/** Runs seeded (SQL) before the console's pages are timed. */
const CONSOLE_RUNS = 10_000;

/** Average generated file size: 10,000 files ≈ 50 MB. */
const BYTES_PER_FILE = 5_000;
const SEARCH_QUERIES = 500;
const RECALL_QUERIES = 50;
const SEARCH_WARMUP = 50;
/** ef_search values the vector side's recall and latency are measured at (and its queries). */
const EF_SWEEP = [40, 100, 200, 400, 800];
const EF_SWEEP_QUERIES = 30;

interface Options {
  quick?: boolean;
  large?: boolean;
  peer: boolean;
  skipEval?: boolean;
  files?: number;
  seed: string;
  skipSearch?: boolean;
  skipChunker?: boolean;
  skipFreshness?: boolean;
  skipAppSync?: boolean;
  skipConsole?: boolean;
  skipMonitor?: boolean;
  skipRecovery?: boolean;
  onlyRecovery?: boolean;
  skipTraces?: boolean;
  onlyTraces?: boolean;
  traceRows?: number;
  traceRounds: number;
  keep?: boolean;
  profile?: boolean;
  color: boolean;
  skipReplay?: boolean;
  onlyReplay?: boolean;
  replayRounds: number;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 10 || n > 200_000)
    throw new InvalidArgumentError("must be a whole number from 10 to 200000");
  return n;
}

const program = new Command()
  .name("bench")
  .description("Ballast benchmark on the embedded default (see bench/run.ts)")
  .option("--quick", "1,000 files / 5 MB, a fast smoke run; search over what is there")
  .option("--large", "grow the index to 500,000 chunks for the search figures (no target)")
  .option("--no-peer", "skip the LangChain indexing API run side by side")
  .option("--skip-eval", "skip the golden-set evaluation")
  .option("--files <n>", "files in the generated repository (default 10000)", positiveInt)
  .option("--seed <seed>", "corpus seed", "ballast-bench-1")
  .option("--skip-search", "skip growing the index and the search latency")
  .option("--skip-chunker", "skip the chunker vs LangChain comparison")
  .option("--skip-freshness", "skip the freshness measure (pushes through the running app)")
  .option(
    "--skip-app-sync",
    "skip the full sync with the database served from a worker thread, as `ballast sync` and the app run it (the full-sync targets are checked on it)",
  )
  .option("--skip-console", "skip the console pages (10,000 runs seeded, every page timed)")
  .option(
    "--skip-monitor",
    "skip the monitor workflow and /api/metrics (100,000 chunks, 10,000 runs)",
  )
  .option(
    "--skip-recovery",
    "skip the error-recovery section (breaker/limiter overhead, sync under faults)",
  )
  .option("--only-recovery", "run only the error-recovery section")
  .option("--skip-traces", "skip tracing overhead and the trace archive measure")
  .option(
    "--only-traces",
    "run only the traces section (tracing on/off sync ratio, archive + verify)",
  )
  .option(
    "--trace-rows <n>",
    "trace rows archived and verified (default 1000000; 100000 with --quick; 0 skips it)",
    (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || (n !== 0 && n < 1000) || n > 10_000_000)
        throw new InvalidArgumentError(
          "must be 0 (skip the archive) or a whole number from 1000 to 10000000",
        );
      return n;
    },
  )
  .option(
    "--trace-rounds <n>",
    "full syncs with tracing off and on, interleaved (off, on, off, on…), of each: the ratio is of their medians (0 skips it)",
    (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 20)
        throw new InvalidArgumentError("must be a whole number from 0 to 20");
      return n;
    },
    3,
  )
  .option("--keep", "keep the temp database and repository clone")
  .option("--profile", `CPU profiles of the syncs, into ${path.relative(ROOT, PROFILE_DIR)}/`)
  .option("--no-color", "no colours in the table")
  .option("--skip-replay", "skip the ledger overhead and the replay of the incremental run")
  .option(
    "--only-replay",
    "run only the replay section (ledger overhead, replay of the incremental run)",
  )
  .option(
    "--replay-rounds <n>",
    "full syncs per ledger setting for the overhead ratio (alternated)",
    (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 10)
        throw new InvalidArgumentError("must be a whole number from 1 to 10");
      return n;
    },
    2,
  );

/** The replay section's rows. */
function reportReplay(report: Report, r: ReplayBenchResult): void {
  report.check(
    "replay",
    `ledger overhead: full-sync documents/min with ÷ without (median of ${r.rounds})`,
    `${r.throughputRatio} (${r.ledgerOnDocumentsPerMinute.map(int).join(", ")} vs ${r.ledgerOffDocumentsPerMinute.map(int).join(", ")})`,
    r.throughputRatio,
    `≥ ${TARGETS.ledgerThroughputRatio}`,
    r.throughputRatio >= TARGETS.ledgerThroughputRatio,
  );
  report.info(
    "replay",
    "ledger after the full sync: entries / jsonb bytes",
    `${int(r.ledger.entries)} / ${(r.ledger.bytes / 1024).toFixed(0)} kB`,
    r.ledger.bytes,
  );
  report.info(
    "replay",
    `incremental run replayed (${r.replay.documentsChanged} files changed): event wall time, events/s`,
    `${seconds(r.replay.eventWallMs)}, ${r.replay.eventsPerSecond} events/s (${r.replay.verdict})`,
    r.replay.eventWallMs,
  );
  report.info(
    "replay",
    "whole replay (sandbox, bootstrap index at the starting commit, diff, score); bundle size",
    `${seconds(r.replay.totalWallMs)}; ${mib(r.replay.bundleBytes)}`,
    r.replay.totalWallMs,
  );
}

const started = Date.now();
function status(message: string): void {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);
}

function out(text = ""): void {
  process.stdout.write(`${text}\n`);
}

/** The phase's own peak: sampled RSS, or the lifetime maxRSS if the phase raised it. */
function phasePeak(memory: MemoryReport): number {
  return memory.maxRssBytes > memory.maxRssAtStartBytes
    ? Math.max(memory.maxRssBytes, memory.peakRssBytes)
    : memory.peakRssBytes;
}

/** The error-recovery rows of the report. */
function reportRecovery(report: Report, m: RecoveryMeasurement): void {
  for (const o of m.overhead)
    report.info(
      "recovery",
      `${o.what} call overhead p50 / p99 (${o.store}, ${o.calls} calls)`,
      `${o.p50Ms} ms / ${o.p99Ms} ms`,
      o.p99Ms,
    );
  if (m.redisSkipped)
    report.skip("recovery", "overhead on real Redis", "", `skipped (${m.redisSkipped})`);
  report.check(
    "recovery",
    `full sync throughput, 30 % provider 500s ÷ clean (${m.sync.files} files)`,
    `${m.sync.ratio} (${m.sync.faultyMs} ms vs ${m.sync.cleanMs} ms; ${m.sync.injected}/${m.sync.faultyRequests} calls failed${m.sync.breakerOpened ? "; breaker opened" : ""})`,
    m.sync.ratio,
    `≥ ${RECOVERY_TARGETS.faultyThroughputRatio}`,
    m.sync.ratio >= RECOVERY_TARGETS.faultyThroughputRatio,
  );
}

async function main(): Promise<void> {
  const opts = program.parse().opts<Options>();
  if (opts.onlyRecovery) {
    const machine = await machineInfo(ROOT);
    out(
      `Ballast bench: error recovery only (${machine.cpuModel} × ${machine.cpuCount}, ${machine.date})`,
    );
    const report = new Report();
    const recovery = await measureRecovery({ quick: opts.quick ?? false, status });
    reportRecovery(report, recovery);
    out(report.render(opts.color && process.stdout.isTTY === true));
    await writeResults(RESULTS_DIR, new Date(), { version: 2, machine, recovery }, "recovery");
    return;
  }
  const files = opts.files ?? (opts.quick ? 1_000 : 10_000);
  const spec = { seed: opts.seed, files, bytes: files * BYTES_PER_FILE };
  const changeCount = Math.max(1, Math.round(files * 0.01));
  const minSearchChunks = opts.quick
    ? 0
    : opts.large
      ? TARGETS.largeSearchChunks
      : TARGETS.searchChunks;
  const startedAt = new Date();
  const report = new Report();

  const machine = await machineInfo(ROOT);
  out("Ballast bench");
  out(`  date         ${machine.date}`);
  out(
    `  commit       ${machine.gitCommit}${machine.gitDirty ? " (with uncommitted changes)" : ""}`,
  );
  out(`  cpu          ${machine.cpuModel} × ${machine.cpuCount}`);
  out(`  memory       ${gib(machine.totalMemoryBytes)}`);
  out(`  os           ${machine.os} (${machine.kernel}) ${machine.arch}`);
  out(`  node         ${machine.node}`);
  out(`  load average ${machine.loadAverageAtStart.join(" ")} (1, 5, 15 min) at start`);
  out(
    `  mode         ${opts.quick ? "quick" : "full"}: ${int(files)} files, ~${(spec.bytes / 1e6).toFixed(0)} MB`,
  );
  out();

  status(
    `corpus: ${int(files)} files, seed ${spec.seed} (cache ${path.relative(ROOT, CACHE_DIR)}/)`,
  );
  const corpus = await ensureCorpus(spec, CACHE_DIR, status);
  status(
    `corpus ready: ${int(corpus.files)} files, ${(corpus.totalBytes / 1e6).toFixed(1)} MB, commit ${corpus.commit.slice(0, 12)}`,
  );

  const tmp = await mkdtemp(path.join(os.tmpdir(), "ballast-bench-"));
  const repoDir = path.join(tmp, "repo");
  await git(tmp, ["clone", "-q", "--local", corpus.repoDir, repoDir]);
  if (opts.onlyReplay) {
    let replayResult: ReplayBenchResult | undefined;
    try {
      replayResult = await measureReplay({
        corpusRepoDir: corpus.repoDir,
        tmp,
        root: ROOT,
        rounds: opts.replayRounds,
        changeCount,
        seed: spec.seed,
        status,
      });
      reportReplay(report, replayResult);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    out(report.render(opts.color && process.stdout.isTTY === true));
    const finishedAt = new Date();
    const { repoDir: _omit, ...corpusInfo } = corpus;
    const written = await writeResults(RESULTS_DIR, startedAt, {
      version: 2,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      machine,
      options: { quick: opts.quick ?? false, files, seed: spec.seed, onlyReplay: true },
      targets: TARGETS,
      corpus: corpusInfo,
      replay: replayResult,
      rows: report.rows,
      failures: report.failures.map((f) => `${f.section}: ${f.measure}`),
    });
    out(`Results: ${written.map((f) => path.relative(ROOT, f)).join(", ")}`);
    return;
  }
  let replayBench: ReplayBenchResult | undefined;
  if (opts.onlyTraces) {
    try {
      const traces = await traceSection(report, opts, files, repoDir, tmp);
      out(report.render(opts.color && process.stdout.isTTY === true));
      const written = await writeResults(RESULTS_DIR, startedAt, {
        version: 2,
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        machine,
        options: {
          quick: opts.quick ?? false,
          files,
          onlyTraces: true,
          traceRows: traceRows(opts),
          traceRounds: opts.traceRounds,
        },
        targets: TRACE_TARGETS,
        traces,
        rows: report.rows,
        failures: report.failures.map((f) => `${f.section}: ${f.measure}`),
      });
      out(`Results: ${written.map((f) => path.relative(ROOT, f)).join(", ")}`);
    } finally {
      if (!opts.keep) await rm(tmp, { recursive: true, force: true });
    }
    return;
  }
  const profiler = opts.profile
    ? new PhaseProfiler(path.join(PROFILE_DIR, startedAt.toISOString().replace(/:/g, "-")), ROOT)
    : undefined;

  let bench: BenchRuntime | undefined;
  let traceFigures: { overhead?: TracingOverhead; archive?: ArchiveMeasurement } | undefined;
  let full: SyncMeasurement | undefined;
  let incremental: SyncMeasurement | undefined;
  let changes: ChangeSet | undefined;
  let search: SearchMeasurement | undefined;
  let recall: RecallMeasurement | undefined;
  let efSweep: EfSweepPoint[] = [];
  let chunksAfterFull = 0;
  const growth: { corpus: CorpusManifest; sync: SyncMeasurement }[] = [];
  let chunker: Awaited<ReturnType<typeof compareChunkers>> | undefined;
  let freshness: FreshnessMeasurement | undefined;
  let appSync: SyncMeasurement | undefined;
  let sideSearch: SearchMeasurement | undefined;
  let sideVectorSearch: SearchMeasurement | undefined;
  let sideRecall: RecallMeasurement | undefined;
  let peer: { full: PeerSync; incremental: PeerSync; search: PeerSearch[] } | undefined;
  let evals: EvalSetResult[] = [];
  let largeSearch: { lexical: SearchMeasurement; vector: SearchMeasurement } | undefined;
  const peerRepo = path.join(tmp, "peer-repo");
  if (opts.peer) await git(tmp, ["clone", "-q", "--local", corpus.repoDir, peerRepo]);
  let consolePages: ConsoleMeasurement | undefined;
  let monitorResult: MonitorMeasurement | undefined;
  let recovery: RecoveryMeasurement | undefined;
  try {
    status(`opening PGlite at ${path.join(tmp, "data", "pglite")}`);
    const openSampler = await new MemorySampler(100).start();
    const openStarted = performance.now();
    bench = await openBenchRuntime(path.join(tmp, "data"), ROOT);
    const openMs = performance.now() - openStarted;
    const openMemory = await openSampler.stop();
    report.info(
      "setup",
      "open a fresh PGlite (initdb + migrations)",
      `${seconds(openMs)}, peak ${mib(phasePeak(openMemory))}, then ${mib(openMemory.rssAtEndBytes)}`,
      phasePeak(openMemory),
    );
    const { config } = bench;
    const sqlTimer = profiler ? new SqlTimer() : undefined;
    if (sqlTimer && !sqlTimer.attach(bench.runtime.db))
      status("SQL timing unavailable: the database is not PGlite");

    // 1. Full sync.
    const source = await addGitSource(bench, "bench-main", repoDir);
    status("full sync…");
    full = await measureSync(bench, source.id, {
      profiler,
      profileLabel: "full-sync",
      sqlTimer,
    });
    chunksAfterFull = await countChunks(bench);
    status(
      `full sync: ${seconds(full.wallMs)}, ${int(full.documentsPerMinute)} documents/min, ${int(chunksAfterFull)} chunks`,
    );
    const fullPeak = phasePeak(full.memory);
    // The database in this thread (the library's embedded default): the incremental, growth
    // and search figures below use it. `ballast sync` and the app serve it from a worker
    // thread: their full sync (2c) is the one the targets are checked on.
    report.info(
      "full sync",
      "documents / minute (database in this thread)",
      int(full.documentsPerMinute),
      full.documentsPerMinute,
    );
    report.check(
      "full sync",
      "peak RSS (sampled every 100 ms)",
      gib(fullPeak),
      fullPeak,
      `< ${gib(TARGETS.peakRssBytes)}`,
      fullPeak < TARGETS.peakRssBytes,
    );
    report.info("full sync", "wall time", seconds(full.wallMs), full.wallMs);
    report.info(
      "full sync",
      "status / mode",
      `${full.status} / ${full.mode}${full.bulkLoad ? " (bulk load)" : ""}`,
    );
    report.info(
      "full sync",
      "documents planned / indexed / failed",
      `${int(full.documentsPlanned)} / ${int(full.processed)} / ${int(full.failed)}`,
    );
    report.info(
      "full sync",
      "chunks written (in index)",
      `${int(full.chunksWritten)} (${int(chunksAfterFull)})`,
      full.chunksWritten,
    );
    report.info(
      "full sync",
      "phase: create + plan",
      seconds(full.phases.planMs),
      full.phases.planMs,
    );
    report.info(
      "full sync",
      `phase: ${full.batches.count} batches (p50 / p95 / max)`,
      `${seconds(full.phases.batchesMs)} (${full.batches.p50Ms} / ${full.batches.p95Ms} / ${full.batches.maxMs} ms)`,
      full.phases.batchesMs,
    );
    report.info("full sync", "  of which embedding (local)", seconds(full.embedMs), full.embedMs);
    report.info(
      "full sync",
      "phase: finishing (vector index + finalize)",
      seconds(full.phases.finishingMs),
      full.phases.finishingMs,
    );
    report.info(
      "full sync",
      "RSS at start / end; process maxRSS",
      `${mib(full.memory.rssAtStartBytes)} / ${mib(full.memory.rssAtEndBytes)}; ${mib(full.memory.maxRssBytes)}${full.memory.maxRssBytes > full.memory.maxRssAtStartBytes ? "" : " (set before the sync)"}`,
    );
    report.info(
      "full sync",
      "longest event-loop stall (event-loop delay or sampling gap; this thread runs the database)",
      `${int(full.memory.stallMs)} ms`,
      full.memory.stallMs,
    );

    // 2. Incremental re-sync with 1% of the files changed.
    status(`editing ${changeCount} files (1%) and committing…`);
    changes = await commitChanges(repoDir, changeCount, spec.seed, config.chunking);
    status("incremental sync…");
    incremental = await measureSync(bench, source.id, {
      profiler,
      profileLabel: "incremental-sync",
      sqlTimer,
    });
    status(
      `incremental: ${seconds(incremental.wallMs)}, ${incremental.chunksEmbedded} chunks embedded, ${changes.changedChunks} changed`,
    );
    report.check(
      "incremental",
      `wall time (${changes.files.length} files changed)`,
      seconds(incremental.wallMs),
      incremental.wallMs,
      `< ${seconds(TARGETS.incrementalMs)}`,
      incremental.wallMs < TARGETS.incrementalMs && incremental.status === "succeeded",
    );
    report.check(
      "incremental",
      "chunks embedded = chunks changed",
      `${int(incremental.chunksEmbedded)} vs ${int(changes.changedChunks)}`,
      incremental.chunksEmbedded === changes.changedChunks,
      "equal",
      incremental.chunksEmbedded === changes.changedChunks,
    );
    report.info(
      "incremental",
      "mode / documents planned / indexed",
      `${incremental.mode} / ${incremental.documentsPlanned} / ${incremental.processed}`,
    );
    report.info(
      "incremental",
      "chunks written / reused / deleted",
      `${incremental.chunksWritten} / ${incremental.chunksReused} / ${incremental.chunksDeleted}`,
    );
    report.info(
      "incremental",
      "chunks of the changed files (old → new)",
      `${int(changes.oldChunks)} → ${int(changes.newChunks)}`,
    );
    report.info(
      "incremental",
      "phases: plan / batches / finishing",
      `${incremental.phases.planMs} / ${incremental.phases.batchesMs} / ${incremental.phases.finishingMs} ms`,
    );

    // 2b. Side by side with the LangChain indexing API, at the same corpus size.
    if (!opts.skipSearch) {
      const chunks = await countChunks(bench);
      status(`search at ${int(chunks)} chunks, for the comparison with LangChain`);
      sideSearch = await measureSearch(bench, {
        queries: makeQueries(`${spec.seed}:side`, SEARCH_WARMUP + 100),
        warmup: SEARCH_WARMUP,
        k: 10,
        indexChunks: chunks,
      });
      // The vector side alone, as LangChain's search is: the same queries, the recall below.
      sideVectorSearch = await measureSearch(bench, {
        queries: makeQueries(`${spec.seed}:side`, SEARCH_WARMUP + 100),
        warmup: SEARCH_WARMUP,
        k: 10,
        indexChunks: chunks,
        mode: "vector",
      });
      sideRecall = await measureRecall(bench, {
        queries: makeQueries(`${spec.seed}:side-recall`, RECALL_QUERIES),
        k: 10,
      });
    }
    if (opts.peer) {
      status("LangChain indexing API: full sync of the same corpus");
      const handle = await openPeer(path.join(tmp, "peer", "pglite"), {
        dimensions: bench.runtime.embedder.dimensions,
        size: config.chunking.size,
        overlap: config.chunking.overlap,
      });
      try {
        const peerFull = await handle.fullSync(peerRepo);
        status(
          `LangChain full: ${seconds(peerFull.totalMs)} (load ${seconds(peerFull.loadMs)} + index ${seconds(peerFull.indexMs)}), ${int(peerFull.filesPerMinute)} files/min`,
        );
        await git(peerRepo, ["fetch", "-q", repoDir, "HEAD"]);
        await git(peerRepo, ["reset", "-q", "--hard", "FETCH_HEAD"]);
        status("LangChain indexing API: incremental (the same edits)");
        const peerIncremental = await handle.incrementalSync(peerRepo);
        const peerSearch: PeerSearch[] = [];
        if (!opts.skipSearch) {
          for (const ef of [40, bench.runtime.config.search.efSearch]) {
            status(`LangChain search, ef_search ${ef}`);
            peerSearch.push(
              await handle.search(
                makeQueries(`${spec.seed}:side`, SEARCH_WARMUP + 100),
                SEARCH_WARMUP,
                ef,
              ),
            );
          }
        }
        peer = { full: peerFull, incremental: peerIncremental, search: peerSearch };
      } finally {
        await handle.close();
      }
      const ballastFilesPerMinute = full.documentsPerMinute;
      const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 100) / 100 : 0);
      const fullRatio = ratio(ballastFilesPerMinute, peer.full.filesPerMinute);
      report.check(
        "vs LangChain",
        "full sync incl. vector index, files/min: Ballast / LangChain (ratio)",
        `${int(ballastFilesPerMinute)} / ${int(peer.full.filesPerMinute)} (${fullRatio}×)`,
        fullRatio,
        `≥ ${TARGETS.fullSyncVsPeer}×`,
        fullRatio >= TARGETS.fullSyncVsPeer,
      );
      report.info(
        "vs LangChain",
        "  load: Ballast plan + batches / LangChain index() (ratio of times)",
        `${seconds(full.phases.planMs + full.phases.batchesMs)} / ${seconds(peer.full.loadMs)} (${ratio(peer.full.loadMs, full.phases.planMs + full.phases.batchesMs)}× faster)`,
      );
      report.info(
        "vs LangChain",
        "  vector index build: Ballast / LangChain",
        `${seconds(full.phases.finishingMs)} / ${seconds(peer.full.indexMs)} (${ratio(peer.full.indexMs, full.phases.finishingMs)}× faster)`,
      );
      report.info(
        "vs LangChain",
        "  chunks: Ballast / LangChain",
        `${int(chunksAfterFull)} / ${int(peer.full.chunks)}`,
      );
      if (incremental) {
        const incRatio = ratio(peer.incremental.totalMs, incremental.wallMs);
        report.check(
          "vs LangChain",
          `incremental (${changes?.files.length ?? 0} files): LangChain / Ballast time`,
          `${seconds(peer.incremental.totalMs)} / ${seconds(incremental.wallMs)} (${incRatio}× faster)`,
          incRatio,
          `≥ ${TARGETS.incrementalVsPeer}×`,
          incRatio >= TARGETS.incrementalVsPeer,
        );
      }
      report.info(
        "vs LangChain",
        "  LangChain incremental: added / updated / deleted / skipped",
        `${peer.incremental.added} / ${peer.incremental.updated} / ${peer.incremental.deleted} / ${peer.incremental.skipped}`,
      );
      const peerPeak = Math.max(peer.full.memory.peakRssBytes, peer.full.memory.maxRssBytes);
      report.info("vs LangChain", "  LangChain peak RSS (process)", gib(peerPeak), peerPeak);
      if (sideSearch && sideRecall) {
        for (const ps of peer.search) {
          const atLeastRecall = sideRecall.recallAtK >= ps.recallAt10;
          report.check(
            "vs LangChain",
            `search p50 / p95 at ${int(sideSearch.indexChunks)} / ${int(peer.full.chunks)} chunks: Ballast hybrid / LangChain ef_search ${ps.efSearch} (recall@10 vs exact)`,
            `${sideSearch.p50Ms} / ${sideSearch.p95Ms} ms (${sideRecall.recallAtK}) / ${ps.p50Ms} / ${ps.p95Ms} ms (${ps.recallAt10})`,
            ratio(sideSearch.p95Ms, ps.p95Ms),
            "≤ at ≥ recall",
            sideSearch.p95Ms <= ps.p95Ms && atLeastRecall,
          );
          if (sideVectorSearch)
            report.check(
              "vs LangChain",
              `search p50 / p95 at ${int(sideVectorSearch.indexChunks)} / ${int(peer.full.chunks)} chunks: Ballast vector-only (ef_search ${sideRecall.efSearch}) / LangChain ef_search ${ps.efSearch} (recall@10 vs exact)`,
              `${sideVectorSearch.p50Ms} / ${sideVectorSearch.p95Ms} ms (${sideRecall.recallAtK}) / ${ps.p50Ms} / ${ps.p95Ms} ms (${ps.recallAt10})`,
              ratio(sideVectorSearch.p95Ms, ps.p95Ms),
              "≤ at ≥ recall",
              sideVectorSearch.p95Ms <= ps.p95Ms && atLeastRecall,
            );
        }
      }
    } else {
      report.skip("vs LangChain", "LangChain indexing API", "", "skipped (--no-peer)");
    }

    // 2c. The same full sync as `ballast sync` and the app run it: the database served from a
    // worker thread. The full-sync targets are checked here.
    if (opts.skipAppSync) {
      report.skip(
        "CLI and app",
        "full sync, database in a worker thread",
        "",
        "skipped (--skip-app-sync)",
      );
    } else {
      appSync = await measureAppSync(corpus.repoDir, path.join(tmp, "app"));
      report.check(
        "CLI and app",
        "full sync, database in a worker thread: documents / minute",
        `${int(appSync.documentsPerMinute)} (${seconds(appSync.wallMs)}; plan ${seconds(appSync.phases.planMs)}, batches ${seconds(appSync.phases.batchesMs)}, finishing ${seconds(appSync.phases.finishingMs)})`,
        appSync.documentsPerMinute,
        `≥ ${int(TARGETS.documentsPerMinute)}`,
        appSync.documentsPerMinute >= TARGETS.documentsPerMinute && appSync.status === "succeeded",
      );
      report.check(
        "CLI and app",
        "full sync, database in a worker thread: longest event-loop stall",
        `${int(appSync.memory.stallMs)} ms`,
        appSync.memory.stallMs,
        `< ${TARGETS.eventLoopStallMs} ms`,
        appSync.memory.stallMs < TARGETS.eventLoopStallMs && appSync.status === "succeeded",
      );
      // This process also holds the bench's own in-process database (above): the app's share
      // is what the sync added to the RSS it started from.
      const appPeak = phasePeak(appSync.memory);
      report.info(
        "CLI and app",
        "  RSS at start → peak (this process also holds the in-process database above)",
        `${gib(appSync.memory.rssAtStartBytes)} → ${gib(appPeak)} (+${gib(appPeak - appSync.memory.rssAtStartBytes)})`,
        appPeak - appSync.memory.rssAtStartBytes,
      );
    }

    // 3. Search over ≥ 100,000 chunks.
    if (opts.skipSearch) {
      report.skip(
        "search",
        "p95 latency, k=10",
        `< ${TARGETS.searchP95Ms} ms`,
        "skipped (--skip-search)",
      );
    } else {
      let chunks = await countChunks(bench);
      for (let round = 1; chunks < minSearchChunks && round <= (opts.large ? 10 : 3); round++) {
        const perFile = Math.max(1, chunksAfterFull / Math.max(1, full.processed));
        const extraFiles = Math.min(
          opts.large ? 40_000 : 200_000,
          Math.ceil((((minSearchChunks - chunks) / perFile) * 1.05) / 500) * 500,
        );
        const extraSpec = {
          seed: `${spec.seed}-extra${round}`,
          files: extraFiles,
          bytes: extraFiles * BYTES_PER_FILE,
        };
        status(`growing the index: a second repository of ${int(extraFiles)} files`);
        const extra = await ensureCorpus(extraSpec, CACHE_DIR, status);
        const extraSource = await addGitSource(bench, `bench-extra-${round}`, extra.repoDir);
        status("syncing it…");
        const sync = await measureSync(bench, extraSource.id);
        growth.push({ corpus: extra, sync });
        chunks = await countChunks(bench);
        status(`index: ${int(chunks)} chunks (sync ${seconds(sync.wallMs)})`);
        report.check(
          "growth",
          `sync ${round}: ${int(extra.files)} files into a ${int(chunks - (sync.chunksWritten ?? 0))}-chunk index, docs/min`,
          `${int(sync.documentsPerMinute)} (${seconds(sync.wallMs)}; index ${seconds(sync.phases.finishingMs)})`,
          sync.documentsPerMinute,
          `≥ ${int(TARGETS.growthDocumentsPerMinute)}`,
          sync.documentsPerMinute >= TARGETS.growthDocumentsPerMinute,
        );
        report.info(
          "growth",
          `sync ${round}: longest event-loop stall (this thread runs the database)`,
          `${int(sync.memory.stallMs)} ms`,
          sync.memory.stallMs,
        );
      }
      status(
        `search: ${SEARCH_WARMUP} warm-up + ${SEARCH_QUERIES} queries over ${int(chunks)} chunks`,
      );
      search = await measureSearch(bench, {
        queries: makeQueries(spec.seed, SEARCH_WARMUP + SEARCH_QUERIES),
        warmup: SEARCH_WARMUP,
        k: 10,
        indexChunks: chunks,
      });
      if (minSearchChunks > 0)
        report.check(
          "search",
          "chunks in the index",
          int(chunks),
          chunks,
          `≥ ${int(minSearchChunks)}`,
          chunks >= minSearchChunks,
        );
      else report.info("search", "chunks in the index", int(chunks), chunks);
      report.check(
        "search",
        `hybrid p95 latency, k=10 (${search.queries} queries)`,
        `${search.p95Ms} ms`,
        search.p95Ms,
        `< ${TARGETS.searchP95Ms} ms`,
        search.p95Ms < TARGETS.searchP95Ms,
      );
      report.info(
        "search",
        "p50 / p99 / max",
        `${search.p50Ms} / ${search.p99Ms} / ${search.maxMs} ms`,
      );
      report.info(
        "search",
        "queries with fewer than k hits",
        String(search.shortResults),
        search.shortResults,
      );
      status(`search: recall@10 of the index against exact search (${RECALL_QUERIES} queries)`);
      recall = await measureRecall(bench, {
        queries: makeQueries(`${spec.seed}:recall`, RECALL_QUERIES),
        k: 10,
      });
      report.check(
        "search",
        `vector recall@10 vs exact search, ef_search ${recall.efSearch} (${recall.queries} queries; worst)`,
        `${recall.recallAtK} (${recall.minRecall})`,
        recall.recallAtK,
        `≥ ${TARGETS.vectorRecallAt10}`,
        recall.recallAtK >= TARGETS.vectorRecallAt10,
      );
      status(
        `search: the vector side at ef_search ${EF_SWEEP.join(", ")} (${EF_SWEEP_QUERIES} queries)`,
      );
      efSweep = await measureEfSweep(bench, {
        queries: makeQueries(`${spec.seed}:ef-sweep`, EF_SWEEP_QUERIES),
        k: 10,
        efValues: EF_SWEEP,
      });
      for (const point of efSweep)
        report.info(
          "search",
          `  vector side at ef_search ${point.efSearch}: recall@10 (ties counted), p50 / p95`,
          `${point.recallAtK} (${point.recallWithTies}), ${point.p50Ms} / ${point.p95Ms} ms`,
          point.recallAtK,
        );
      status("search: lexical-only and vector-only latency");
      const lexical = await measureSearch(bench, {
        queries: makeQueries(`${spec.seed}:lexical`, SEARCH_WARMUP + 100),
        warmup: SEARCH_WARMUP,
        k: 10,
        indexChunks: chunks,
        mode: "lexical",
      });
      const vectorOnly = await measureSearch(bench, {
        queries: makeQueries(`${spec.seed}:vector`, SEARCH_WARMUP + 100),
        warmup: SEARCH_WARMUP,
        k: 10,
        indexChunks: chunks,
        mode: "vector",
      });
      largeSearch = { lexical, vector: vectorOnly };
      report.info(
        "search",
        "p50 / p95: lexical only; vector only",
        `${lexical.p50Ms} / ${lexical.p95Ms} ms; ${vectorOnly.p50Ms} / ${vectorOnly.p95Ms} ms`,
      );
      report.info(
        "search",
        "vector recall@10 with ties counted (a result as similar as the exact 10th counts)",
        String(recall.recallWithTies),
        recall.recallWithTies,
      );
      report.info(
        "search",
        "similarity of results ÷ exact top 10",
        String(recall.scoreRatio),
        recall.scoreRatio,
      );
      report.info(
        "search",
        "exact top 10 holding no query term (there by hash collisions alone)",
        `${(recall.exactWithoutQueryTerm * 100).toFixed(1)} %`,
        recall.exactWithoutQueryTerm,
      );
    }

    // 3b. Search quality on every golden set.
    if (opts.skipEval) {
      report.skip("quality", "golden sets", "", "skipped (--skip-eval)");
    } else {
      evals = await runGoldenSets(ROOT, config, bench.runtime.log, status);
      for (const set of evals) {
        const h = set.systems.hybrid;
        const b = set.systems.bm25;
        if (!h || !b) continue;
        report.check(
          "quality",
          `${set.name} (${set.questions} q, ${int(set.chunks)} chunks): recall@5 hybrid / BM25 (gain)`,
          `${h.recallAt5.toFixed(3)} / ${b.recallAt5.toFixed(3)} (${set.recallGainOverBm25 === null ? "n/a" : `${(set.recallGainOverBm25 * 100).toFixed(1)} %`})`,
          set.recallGainOverBm25 ?? 0,
          `≥ +${Math.round((TARGETS.recallGainOverBm25 - 1) * 100)} %`,
          h.recallAt5 >= b.recallAt5 * TARGETS.recallGainOverBm25,
        );
        report.check(
          "quality",
          `${set.name}: MRR@10 hybrid / BM25`,
          `${h.mrrAt10.toFixed(3)} / ${b.mrrAt10.toFixed(3)}`,
          h.mrrAt10,
          "ahead",
          h.mrrAt10 > b.mrrAt10,
        );
        const lex = set.systems.lexical;
        const vec = set.systems.vector;
        report.info(
          "quality",
          `${set.name}: recall@5 / MRR@10 lexical; vector`,
          `${lex?.recallAt5.toFixed(3)} / ${lex?.mrrAt10.toFixed(3)}; ${vec?.recallAt5.toFixed(3)} / ${vec?.mrrAt10.toFixed(3)}`,
        );
      }
    }

    // 4. Chunker vs LangChain, on the generated corpus's text.
    if (opts.skipChunker) {
      report.skip("chunker", "ballast vs langchain", "", "skipped (--skip-chunker)");
    } else {
      status("chunker vs LangChain: loading the corpus text");
      const texts = await readCorpusFiles(corpus.repoDir);
      chunker = await compareChunkers(texts, config.chunking, 3, status);
      const label = `${chunker.files} files, ${chunker.megabytes} MB, size ${chunker.size}/${chunker.overlap}`;
      report.info(
        "chunker",
        `ballast chunkDocument (${label})`,
        `${chunker.ballast.mbPerSecond} MB/s`,
        chunker.ballast.mbPerSecond,
      );
      report.info(
        "chunker",
        "langchain RecursiveCharacterTextSplitter",
        `${chunker.langchain.mbPerSecond} MB/s`,
        chunker.langchain.mbPerSecond,
      );
      report.info(
        "chunker",
        "speed ratio (ballast / langchain)",
        `${chunker.speedRatio}×`,
        chunker.speedRatio,
      );
      report.info(
        "chunker",
        "chunks (mean chars) ballast / langchain",
        `${int(chunker.ballast.chunks)} (${chunker.ballast.meanChunkChars}) / ${int(chunker.langchain.chunks)} (${chunker.langchain.meanChunkChars})`,
      );
      report.info(
        "chunker",
        "chunks over size: ballast / langchain",
        `${chunker.ballast.oversized} / ${chunker.langchain.oversized}`,
      );
    }

    // 5. Freshness: pushes through the running app (it needs the database to itself).
    await bench?.runtime.close();
    bench = undefined;
    if (opts.skipFreshness) {
      report.skip(
        "freshness",
        "webhook 2xx → searchable, p95",
        `< ${seconds(TARGETS.freshnessP95Ms)}`,
        "skipped (--skip-freshness)",
      );
    } else {
      status(`freshness: ${FRESHNESS_PUSHES} pushes through the app`);
      freshness = await measureFreshness({
        root: ROOT,
        dataDir: path.join(tmp, "data"),
        repoDir,
        sourceName: "bench-main",
        pushes: FRESHNESS_PUSHES,
        seed: spec.seed,
        status,
      });
      report.check(
        "freshness",
        `webhook 2xx → searchable, p95 (${freshness.found}/${freshness.pushes} found)`,
        seconds(freshness.p95Ms),
        freshness.p95Ms,
        `< ${seconds(TARGETS.freshnessP95Ms)}`,
        freshness.p95Ms < TARGETS.freshnessP95Ms && freshness.timeouts === 0,
      );
      report.info(
        "freshness",
        "p50 / max",
        `${seconds(freshness.p50Ms)} / ${seconds(freshness.maxMs)}`,
        freshness.p50Ms,
      );
    }

    // 6. The console's pages over this index with 10,000 runs (the app, like freshness).
    if (opts.skipConsole) {
      report.skip(
        "console",
        "page p95 (every page)",
        `< ${CONSOLE_TARGETS.pageP95Ms} ms`,
        "skipped (--skip-console)",
      );
    } else {
      status("console: 10,000 runs, every page timed");
      consolePages = await measureConsole({
        root: ROOT,
        dataDir: path.join(tmp, "data"),
        sourceName: "bench-main",
        runs: CONSOLE_RUNS,
        requests: opts.quick ? 10 : 40,
        status,
      });
      for (const page of consolePages.pages)
        report.check(
          "console",
          `${page.page} p95 (p50) · ${int(consolePages.chunks)} chunks, ${int(consolePages.runs)} runs`,
          `${page.p95Ms} ms (${page.p50Ms} ms)`,
          page.p95Ms,
          `< ${CONSOLE_TARGETS.pageP95Ms} ms`,
          page.p95Ms < CONSOLE_TARGETS.pageP95Ms,
        );
      for (const page of consolePages.firstLoadJs)
        report.check(
          "console",
          `${page.page}: first-load JS (gzip, ${page.scripts} scripts)`,
          `${(page.bytes / 1024).toFixed(1)} kB`,
          page.bytes,
          "< 200 kB",
          page.bytes < CONSOLE_TARGETS.firstLoadJsBytes,
        );
    }
    // 7. The monitor workflow and the metrics endpoint (their own database: 100,000 chunks, 10,000 runs).
    if (opts.skipMonitor) {
      report.skip(
        "monitor",
        "monitor workflow",
        `< ${MONITOR_TARGETS.workflowMs} ms`,
        "skipped (--skip-monitor)",
      );
    } else {
      status("monitor: the workflow and /api/metrics over a seeded database");
      monitorResult = await measureMonitor({
        chunks: opts.quick ? 10_000 : 100_000,
        runs: opts.quick ? 1_000 : 10_000,
        ticks: opts.quick ? 5 : 10,
        requests: opts.quick ? 30 : 100,
        status,
      });
      const scale = `${int(monitorResult.chunks)} chunks, ${int(monitorResult.runs)} runs`;
      report.check(
        "monitor",
        `monitor workflow p95 (p50) · ${scale}`,
        `${monitorResult.workflow.p95Ms} ms (${monitorResult.workflow.p50Ms} ms)`,
        monitorResult.workflow.p95Ms,
        `< ${MONITOR_TARGETS.workflowMs} ms`,
        monitorResult.workflow.p95Ms < MONITOR_TARGETS.workflowMs,
      );
      report.check(
        "monitor",
        `GET /api/metrics p95 (p50), per scrape from the stored tick · ${scale}`,
        `${monitorResult.metricsScrape.p95Ms} ms (${monitorResult.metricsScrape.p50Ms} ms)`,
        monitorResult.metricsScrape.p95Ms,
        `< ${MONITOR_TARGETS.metricsP95Ms} ms`,
        monitorResult.metricsScrape.p95Ms < MONITOR_TARGETS.metricsP95Ms,
      );
      report.check(
        "monitor",
        `GET /api/metrics p95 (p50), cached within 10 s · ${scale}`,
        `${monitorResult.metricsServed.p95Ms} ms (${monitorResult.metricsServed.p50Ms} ms)`,
        monitorResult.metricsServed.p95Ms,
        `< ${MONITOR_TARGETS.metricsP95Ms} ms`,
        monitorResult.metricsServed.p95Ms < MONITOR_TARGETS.metricsP95Ms,
      );
      report.info(
        "monitor",
        `GET /api/metrics p95 (p50), stale tick (monitor not running): recomputed live · ${scale}`,
        `${monitorResult.metricsStale.p95Ms} ms (${monitorResult.metricsStale.p50Ms} ms)`,
        monitorResult.metricsStale.p95Ms,
      );
    }
    if (!opts.skipReplay) {
      await (bench as BenchRuntime | undefined)?.runtime.close();
      bench = undefined;
      replayBench = await measureReplay({
        corpusRepoDir: corpus.repoDir,
        tmp,
        root: ROOT,
        rounds: opts.replayRounds,
        changeCount,
        seed: spec.seed,
        status,
      });
      reportReplay(report, replayBench);
    } else report.skip("replay", "ledger overhead, replay", "", "skipped (--skip-replay)");
    // 7. Error recovery: breaker/limiter overhead, a full sync under injected provider faults.
    if (opts.skipRecovery)
      report.skip(
        "recovery",
        "sync under 30 % provider 500s ÷ clean",
        "≥ 0.5",
        "skipped (--skip-recovery)",
      );
    else {
      recovery = await measureRecovery({ quick: opts.quick ?? false, status });
      reportRecovery(report, recovery);
    }
    // 7. Traces: tracing on ÷ off, archive + verify of a day of trace rows.
    if (opts.skipTraces)
      report.skip(
        "traces",
        "full sync, tracing on ÷ off",
        `≥ ${TRACE_TARGETS.tracingThroughputRatio}`,
        "skipped (--skip-traces)",
      );
    else traceFigures = await traceSection(report, opts, files, repoDir, tmp);
  } finally {
    await bench?.runtime.close();
    if (opts.keep) status(`kept the database and repository clone in ${tmp}`);
    // Retried (a child process may still be closing files in it), and never masking the
    // error that ended the bench.
    else
      await rm(tmp, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }).catch(
        (error: unknown) => status(`could not remove ${tmp}: ${String(error)}`),
      );
  }

  const finishedAt = new Date();
  const color = opts.color && process.stdout.isTTY === true;
  out(report.render(color));
  const failures = report.failures;
  out(
    failures.length === 0
      ? "All targets met."
      : `${failures.length} target(s) missed: ${failures.map((f) => `${f.section} ${f.measure}`).join("; ")}`,
  );
  const { repoDir: _omit, ...corpusInfo } = corpus;
  const written = await writeResults(RESULTS_DIR, startedAt, {
    version: 2,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    machine,
    options: {
      quick: opts.quick ?? false,
      large: opts.large ?? false,
      peer: opts.peer,
      skipEval: opts.skipEval ?? false,
      files,
      seed: spec.seed,
      skipSearch: opts.skipSearch ?? false,
      skipChunker: opts.skipChunker ?? false,
      skipFreshness: opts.skipFreshness ?? false,
      skipAppSync: opts.skipAppSync ?? false,
      skipConsole: opts.skipConsole ?? false,
      skipMonitor: opts.skipMonitor ?? false,
      profile: opts.profile ?? false,
      skipReplay: opts.skipReplay ?? false,
    },
    targets: TARGETS,
    corpus: corpusInfo,
    fullSync: full ? { ...full, chunksInIndex: chunksAfterFull } : null,
    appSync: appSync ?? null,
    incremental: incremental && changes ? { ...incremental, changes } : null,
    growth: growth.map(({ corpus: c, sync }) => ({
      corpus: { seed: c.seed, files: c.files, totalBytes: c.totalBytes, commit: c.commit },
      sync,
    })),
    search: search ?? null,
    recovery: recovery ?? null,
    recall: recall ?? null,
    efSweep,
    searchByMode: largeSearch ?? null,
    sideBySide: {
      ballastSearch: sideSearch ?? null,
      ballastVectorSearch: sideVectorSearch ?? null,
      ballastRecall: sideRecall ?? null,
      peer: peer ?? null,
    },
    eval: evals.map(({ report: r, ...rest }) => ({ ...rest, queries: r.systems })),
    chunker: chunker ?? null,
    freshness: freshness ?? null,
    console: consolePages ?? null,
    monitor: monitorResult ?? null,
    replay: replayBench ?? null,
    traces: traceFigures ?? null,
    rows: report.rows,
    failures: failures.map((f) => `${f.section}: ${f.measure}`),
  });
  out(`Results: ${written.map((f) => path.relative(ROOT, f)).join(", ")}`);
  for (const [label, sync] of [
    ["full sync", full],
    ["incremental sync", incremental],
  ] as const) {
    if (sync?.profile) printProfile(label, sync.profile);
    if (sync?.sql) printSql(label, sync.sql);
  }
}

/** Trace rows the archive measure seeds: --trace-rows, else 1,000,000 (100,000 with --quick). */
/**
 * A full sync of a fresh clone of the corpus into a fresh database served from a worker
 * thread, as `ballast sync` and the app (`next start`, `npm run up`) run their syncs: this
 * thread does the reading, chunking and embedding, and talks to PGlite over the Unix socket
 * (chunks through COPY FROM STDIN). Its longest event-loop stall is theirs, which the
 * in-process figures above (PGlite on this thread) do not show.
 */
async function measureAppSync(corpusRepo: string, dir: string): Promise<SyncMeasurement> {
  const repo = path.join(dir, "repo");
  await mkdir(dir, { recursive: true });
  await git(dir, ["clone", "-q", "--local", corpusRepo, repo]);
  status("full sync as the app runs it (database in a worker thread)…");
  const app = await openBenchRuntime(path.join(dir, "data"), ROOT, {}, { serveDatabase: true });
  try {
    const source = await addGitSource(app, "bench-app", repo);
    const sync = await measureSync(app, source.id);
    status(
      `app-mode full sync: ${seconds(sync.wallMs)}, ${int(sync.documentsPerMinute)} documents/min, longest stall ${int(sync.memory.stallMs)} ms`,
    );
    return sync;
  } finally {
    await app.runtime.close();
  }
}

function traceRows(opts: Options): number {
  return opts.traceRows ?? (opts.quick ? 100_000 : 1_000_000);
}

/** The traces section (see bench/traces.ts), its rows added to the report. */
async function traceSection(
  report: Report,
  opts: Options,
  files: number,
  repoDir: string,
  tmp: string,
): Promise<{ overhead?: TracingOverhead; archive?: ArchiveMeasurement }> {
  const overhead =
    opts.traceRounds > 0
      ? await measureTracingOverhead({
          root: ROOT,
          repoDir,
          tmp,
          files,
          rounds: opts.traceRounds,
          status,
        })
      : undefined;
  if (overhead) {
    for (const r of overhead.rounds)
      report.info(
        "traces",
        `full sync, tracing ${r.tracing ? "on" : "off"}${r.tracing ? ` (${int(r.spans)} spans)` : ""}`,
        `${int(r.filesPerMinute)} files/min (${seconds(r.wallMs)})`,
        r.filesPerMinute,
      );
    report.check(
      "traces",
      `full sync, tracing on ÷ off (median of ${opts.traceRounds} interleaved each, ${int(files)} files; load ${overhead.loadAverage.start.toFixed(1)}→${overhead.loadAverage.end.toFixed(1)})`,
      `${overhead.ratio.toFixed(3)} (pairs ${overhead.pairRatios.map((r) => r.toFixed(2)).join(", ")})`,
      overhead.ratio,
      `≥ ${TRACE_TARGETS.tracingThroughputRatio}`,
      overhead.ratio >= TRACE_TARGETS.tracingThroughputRatio,
    );
  } else
    report.skip(
      "traces",
      "full sync, tracing on ÷ off",
      `≥ ${TRACE_TARGETS.tracingThroughputRatio}`,
      "skipped (--trace-rounds 0)",
    );
  if (traceRows(opts) === 0) {
    report.skip(
      "traces",
      "archive + verify: peak RSS",
      `< ${mib(TRACE_TARGETS.archivePeakRssBytes)}`,
      "skipped (--trace-rows 0)",
    );
    return { overhead };
  }
  const archive = await measureTraceArchive({ root: ROOT, tmp, rows: traceRows(opts), status });
  report.info(
    "traces",
    `  seed ${int(archive.rows)} trace rows (generate_series, own process)`,
    seconds(archive.seedMs),
    archive.seedMs,
  );
  report.info(
    "traces",
    `archive + verify, ${int(archive.rows)} rows (own process; gzip ${mib(archive.gzipBytes)})`,
    `${int(archive.rowsPerSecond)} rows/s (${seconds(archive.archiveVerifyMs)})`,
    archive.rowsPerSecond,
  );
  report.info(
    "traces",
    "  then delete the archived rows",
    seconds(archive.deleteMs),
    archive.deleteMs,
  );
  report.check(
    "traces",
    `archive + verify + delete: peak RSS of its process (${mib(archive.rssBeforeBytes)} before)`,
    mib(archive.peakRssBytes),
    archive.peakRssBytes,
    `< ${mib(TRACE_TARGETS.archivePeakRssBytes)}`,
    archive.peakRssBytes < TRACE_TARGETS.archivePeakRssBytes,
  );
  report.info(
    "traces",
    "  the archive's increase over the process before it",
    mib(archive.rssIncreaseBytes),
    archive.rssIncreaseBytes,
  );
  return { overhead, archive };
}

function printSql(label: string, entries: SqlTimingEntry[]): void {
  out();
  out(`PGlite time by SQL statement, ${label} (round trips incl. sync to disk):`);
  for (const e of entries)
    out(`  ${String(e.ms).padStart(7)} ms ${String(e.calls).padStart(6)}×  ${e.statement}`);
}

function printProfile(label: string, profile: ProfileSummary): void {
  out();
  out(
    `CPU profile of the ${label}: ${path.relative(ROOT, profile.file)} (${seconds(profile.totalMs)} sampled)`,
  );
  const block = (title: string, entries: ProfileEntry[]) => {
    out(`  ${title}`);
    for (const e of entries)
      out(`    ${String(e.ms).padStart(7)} ms ${e.share.toFixed(1).padStart(5)}%  ${e.name}`);
  };
  block("self time by module", profile.byModule);
  block("self time by function", profile.byFunction.slice(0, 15));
  block("inclusive time of project functions", profile.projectInclusive.slice(0, 15));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error("bench failed:", error);
    process.exit(1);
  },
);
