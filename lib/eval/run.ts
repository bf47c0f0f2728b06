import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/client";
import { errorMessage, ValidationError } from "../errors";
import { type SearchMode, searchChunks } from "../index/search";
import { type PipelineDeps, readerFor } from "../pipeline/deps";
import type { SourceRecord } from "../pipeline/source-records";
import { inspectContent } from "../sources/filter";
import { BaselineUnavailableError, buildBm25Baseline } from "./baseline";
import type { GoldenSet } from "./golden";
import { meanMetrics, type QueryMetrics, queryMetrics, round3 } from "./metrics";

const run = promisify(execFile);

export const SYSTEMS = ["lexical", "vector", "hybrid", "bm25"] as const;
export type SystemName = (typeof SYSTEMS)[number];

export interface QueryResult extends QueryMetrics {
  id: string;
  question: string;
  expected: string[];
  /** Paths of the top results, in rank order (up to max(10, k)). */
  top: string[];
  ms: number;
}

export interface SystemResult {
  overall: QueryMetrics & { meanMs: number };
  queries: QueryResult[];
}

/** What `ballast eval` prints as JSON (see the README, "Evaluating search"). */
export interface EvalReport {
  golden: string;
  source: { name: string; kind: string; location: string; commit: string | null };
  k: number;
  documents: number;
  chunks: number;
  baselineChunks: number | null;
  /** Expected files that are not among the indexed documents (the question cannot be answered). */
  missingExpected: { id: string; path: string }[];
  systems: Partial<Record<SystemName, SystemResult>>;
  /** Why the BM25 baseline did not run, when it did not. */
  baselineError?: string;
}

/**
 * Materialises a golden set's `npm` source: copies the installed package (without its own
 * node_modules) into a new git repository in a temp dir, after checking the installed
 * version is the golden set's (and the lockfile's). Returns the repository and a cleanup.
 */
export async function materialiseNpmPackage(
  root: string,
  name: string,
  version: string,
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const packageDir = path.join(root, "node_modules", name);
  let installed: string | undefined;
  try {
    installed = JSON.parse(await readFile(path.join(packageDir, "package.json"), "utf8")).version;
  } catch {
    throw new ValidationError(`package ${name} is not installed under ${root}/node_modules`);
  }
  if (installed !== version)
    throw new ValidationError(
      `the golden set is for ${name}@${version} but ${installed} is installed; its questions may not fit another version`,
    );
  try {
    const lock = JSON.parse(await readFile(path.join(root, "package-lock.json"), "utf8"));
    const locked = lock.packages?.[`node_modules/${name}`]?.version;
    if (locked && locked !== version)
      throw new ValidationError(
        `the golden set is for ${name}@${version} but the lockfile pins ${locked}`,
      );
  } catch (error) {
    if (error instanceof ValidationError) throw error;
  }
  const tmp = await mkdtemp(path.join(tmpdir(), "ballast-eval-"));
  const dir = path.join(tmp, name.replace("/", "__"));
  await cp(packageDir, dir, {
    recursive: true,
    filter: (src) => !path.relative(packageDir, src).split(path.sep).includes("node_modules"),
  });
  const git = (...args: string[]) => run("git", args, { cwd: dir, maxBuffer: 64 << 20 });
  await git("init", "-q", "-b", "main");
  await git("add", "-A", "-f");
  await git(
    "-c",
    "user.name=ballast eval",
    "-c",
    "user.email=eval@ballast.invalid",
    "commit",
    "-q",
    "--no-gpg-sign",
    "--date=2000-01-01T00:00:00Z",
    "-m",
    `${name}@${version}`,
  );
  return { dir, cleanup: () => rm(tmp, { recursive: true, force: true }) };
}

export interface EvalOptions {
  k: number;
  /** Systems to run (default all). */
  systems?: SystemName[];
  efSearch?: number;
  onProgress?: (message: string) => void;
}

/** Runs every question of the golden set against an indexed source, for each system. */
export async function evaluate(
  deps: PipelineDeps,
  golden: GoldenSet,
  source: SourceRecord,
  options: EvalOptions,
): Promise<EvalReport> {
  const { db, embedder } = deps;
  const k = options.k;
  const depth = Math.max(10, k);
  const systems = options.systems ?? [...SYSTEMS];
  const documents = rowsOf<{ path: string; blob_sha: string | null }>(
    await db.execute(
      sql`select path, blob_sha from documents where source_id = ${source.id} order by path`,
    ),
  );
  const [chunkCount] = rowsOf<{ n: number }>(
    await db.execute(sql`select count(*)::int as n from chunks where source_id = ${source.id}`),
  );
  const indexed = new Set(documents.map((d) => d.path));
  const missingExpected = golden.questions.flatMap((q) =>
    q.expected.filter((p) => !indexed.has(p)).map((p) => ({ id: q.id, path: p })),
  );
  const report: EvalReport = {
    golden: golden.name,
    source: {
      name: source.name,
      kind: source.kind,
      location: source.location,
      commit: source.cursorCommit,
    },
    k,
    documents: documents.length,
    chunks: Number(chunkCount?.n ?? 0),
    baselineChunks: null,
    missingExpected,
    systems: {},
  };

  let baseline: Awaited<ReturnType<typeof buildBm25Baseline>> | undefined;
  if (systems.includes("bm25")) {
    options.onProgress?.("BM25 baseline: reading the indexed files and building MiniSearch");
    try {
      const blobs = await readerFor(deps, source).readBlobs(
        documents.flatMap((d) => (d.blob_sha ? [{ path: d.path, blobSha: d.blob_sha }] : [])),
      );
      const files: { path: string; text: string }[] = [];
      for (const [p, bytes] of blobs) {
        if (!bytes) continue;
        const content = inspectContent(bytes);
        if (content.ok) files.push({ path: p, text: content.text });
      }
      baseline = await buildBm25Baseline(files, deps.chunking);
      report.baselineChunks = baseline.chunks;
    } catch (error) {
      if (!(error instanceof BaselineUnavailableError)) throw error;
      report.baselineError = errorMessage(error);
    }
  }

  for (const system of systems) {
    if (system === "bm25" && !baseline) continue;
    options.onProgress?.(`${system}: ${golden.questions.length} questions`);
    const queries: QueryResult[] = [];
    for (const q of golden.questions) {
      const started = performance.now();
      const top =
        system === "bm25"
          ? (baseline?.search(q.question, depth) ?? [])
          : (
              await searchChunks(db, embedder, {
                query: q.question,
                k: depth,
                sourceId: source.id,
                mode: system as SearchMode,
                efSearch: options.efSearch,
              })
            ).map((hit) => hit.path);
      const ms = performance.now() - started;
      queries.push({
        id: q.id,
        question: q.question,
        expected: q.expected,
        top,
        ms: Math.round(ms * 10) / 10,
        ...roundMetrics(queryMetrics(top, q.expected, k)),
      });
    }
    report.systems[system] = {
      overall: {
        ...meanMetrics(queries),
        meanMs: Math.round((queries.reduce((s, q) => s + q.ms, 0) / queries.length) * 10) / 10,
      },
      queries,
    };
  }
  return report;
}

function roundMetrics(m: QueryMetrics): QueryMetrics {
  return {
    recallAt5: round3(m.recallAt5),
    recallAtK: round3(m.recallAtK),
    mrrAt10: round3(m.mrrAt10),
    ndcgAt10: round3(m.ndcgAt10),
  };
}
