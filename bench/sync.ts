import { randomUUID } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { sql } from "drizzle-orm";
import { rowsOf } from "../db/client";
import { type ChunkOptions, chunkDocument } from "../lib/chunking";
import { addSource } from "../lib/pipeline/source-records";
import { type SyncProgress, syncSourceLocally } from "../lib/workflows/sync-now";
import { editMiddle } from "./corpus/edit";
import { Random } from "./corpus/random";
import { git } from "./git";
import { type MemoryReport, MemorySampler } from "./memory";
import type { PhaseProfiler, ProfileSummary } from "./profile";
import type { BenchRuntime } from "./runtime";
import type { SqlTimer, SqlTimingEntry } from "./sql-timing";

export interface SyncMeasurement {
  runId: string;
  status: string;
  mode: string | null;
  note: string | null;
  bulkLoad: boolean;
  wallMs: number;
  documentsPlanned: number;
  processed: number;
  skipped: number;
  failed: number;
  deleted: number;
  chunksWritten: number;
  chunksEmbedded: number;
  chunksReused: number;
  chunksDeleted: number;
  documentsPerMinute: number;
  /** From onProgress timestamps: create + plan, the batches, finishing (vector index + finalize). */
  phases: { planMs: number; batchesMs: number; finishingMs: number };
  batches: { count: number; p50Ms: number; p95Ms: number; maxMs: number; totalMs: number };
  /** Time inside the embedder (local hash embedder), part of batchesMs. */
  embedMs: number;
  memory: MemoryReport;
  profile?: ProfileSummary;
  /** With --profile: PGlite time by SQL statement (round trips including the sync to disk). */
  sql?: SqlTimingEntry[];
}

/** Adds a git source for a local repository, as `ballast sync <path>` does on first use. */
export async function addGitSource(bench: BenchRuntime, name: string, repoDir: string) {
  return addSource(bench.runtime.db, { kind: "git", location: repoDir, name });
}

/** One sync of the source through syncSourceLocally, as the CLI runs it, timed and sampled. */
export async function measureSync(
  bench: BenchRuntime,
  sourceId: string,
  options: { profiler?: PhaseProfiler; profileLabel?: string; sqlTimer?: SqlTimer } = {},
): Promise<SyncMeasurement> {
  const marks: Partial<Record<SyncProgress["phase"], number>> = {};
  const batchEnds: number[] = [];
  bench.embedTime.reset();
  if (options.profiler) await options.profiler.start();
  options.sqlTimer?.start();
  const sampler = await new MemorySampler(100).start();
  const started = performance.now();
  const run = await syncSourceLocally(bench.deps, {
    sourceId,
    mode: "incremental",
    trigger: "cli",
    dedupeKey: `cli:${randomUUID()}`,
    onProgress: (p) => {
      const now = performance.now();
      if (marks[p.phase] === undefined) marks[p.phase] = now;
      if (p.phase === "indexing" && p.batchesDone > 0) batchEnds.push(now);
    },
  });
  const ended = performance.now();
  const memory = await sampler.stop();
  const sql = options.sqlTimer?.stop();
  const profile = options.profiler && (await options.profiler.stop(options.profileLabel ?? "sync"));

  const indexing = marks.indexing ?? ended;
  const finishing = marks.finishing ?? ended;
  const batchDurations = batchEnds.map(
    (t, i) => t - (i === 0 ? indexing : (batchEnds[i - 1] ?? t)),
  );
  const sorted = [...batchDurations].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  const wallMs = ended - started;
  return {
    runId: run.id,
    status: run.status,
    mode: run.mode,
    note: run.note,
    bulkLoad: run.bulkLoad,
    wallMs: Math.round(wallMs),
    documentsPlanned: run.planned,
    processed: run.processed,
    skipped: run.skipped,
    failed: run.failed,
    deleted: run.deleted,
    chunksWritten: run.chunksWritten,
    chunksEmbedded: run.chunksEmbedded,
    chunksReused: run.chunksReused,
    chunksDeleted: run.chunksDeleted,
    documentsPerMinute: Math.round(run.planned / (wallMs / 60_000)),
    phases: {
      planMs: Math.round(indexing - started),
      batchesMs: Math.round(finishing - indexing),
      finishingMs: Math.round(ended - finishing),
    },
    batches: {
      count: batchDurations.length,
      p50Ms: Math.round(q(0.5)),
      p95Ms: Math.round(q(0.95)),
      maxMs: Math.round(sorted[sorted.length - 1] ?? 0),
      totalMs: Math.round(batchDurations.reduce((a, b) => a + b, 0)),
    },
    embedMs: Math.round(bench.embedTime.ms),
    memory,
    ...(profile ? { profile } : {}),
    ...(sql ? { sql } : {}),
  };
}

export interface ChangeSet {
  files: string[];
  commit: string;
  /** Chunks of the new versions whose content hash is not among the old version's chunks (multiset). */
  changedChunks: number;
  oldChunks: number;
  newChunks: number;
}

/**
 * Edits one function or section in the middle of `count` files of the repository (chosen from
 * the seed), commits, and counts independently how many chunks really changed: for each file,
 * chunkDocument on the old and the new text with the pipeline's options, and the new chunks
 * whose content hash the old chunks do not have (multiset difference).
 */
export async function commitChanges(
  repoDir: string,
  count: number,
  seed: string,
  chunking: ChunkOptions,
): Promise<ChangeSet> {
  const rng = new Random(`edit:${seed}`);
  const all = (await git(repoDir, ["ls-files", "-z"])).split("\0").filter(Boolean).sort();
  const files = rng
    .shuffle([...all])
    .slice(0, count)
    .sort();
  let changedChunks = 0;
  let oldChunks = 0;
  let newChunks = 0;
  for (const file of files) {
    const full = path.join(repoDir, file);
    const before = await readFile(full, "utf8");
    const after = editMiddle(file, before, rng.fork(file));
    if (after === before) throw new Error(`the edit of ${file} changed nothing`);
    await writeFile(full, after);
    const oldHashes = new Map<string, number>();
    const old = chunkDocument(file, before, chunking);
    for (const c of old) oldHashes.set(c.contentHash, (oldHashes.get(c.contentHash) ?? 0) + 1);
    const fresh = chunkDocument(file, after, chunking);
    for (const c of fresh) {
      const left = oldHashes.get(c.contentHash) ?? 0;
      if (left > 0) oldHashes.set(c.contentHash, left - 1);
      else changedChunks++;
    }
    oldChunks += old.length;
    newChunks += fresh.length;
  }
  await git(repoDir, ["commit", "-q", "-a", "-m", `bench: edit ${files.length} files`]);
  const commit = (await git(repoDir, ["rev-parse", "HEAD"])).trim();
  return { files, commit, changedChunks, oldChunks, newChunks };
}

export async function countChunks(bench: BenchRuntime): Promise<number> {
  const [row] = rowsOf<{ n: number }>(
    await bench.runtime.db.execute(sql`select count(*)::int as n from chunks`),
  );
  return Number(row?.n ?? 0);
}
