import { randomUUID } from "node:crypto";
import type { Config } from "../config";
import { BallastError } from "../errors";
import type { Logger } from "../log/logger";
import { type PipelineDeps, pipelineDeps } from "../pipeline/deps";
import { addSource, getSource, type SourceRecord } from "../pipeline/source-records";
import { createRuntime, type Runtime } from "../runtime";
import { syncSourceLocally } from "../workflows/sync-now";
import type { GoldenSet } from "./golden";
import { type EvalOptions, type EvalReport, evaluate, materialiseNpmPackage } from "./run";

export interface EvalSessionOptions extends EvalOptions {
  /** The project root: node_modules for `npm` sources, the repository for `repository`. */
  root: string;
  /** Evaluate this already-indexed source of `runtime` instead of the golden set's own source. */
  sourceName?: string;
  /** Required with sourceName; otherwise the eval opens its own in-memory database. */
  runtime?: Runtime;
  config: Config;
  log: Logger;
  migrationsFolder?: string;
}

export interface EvalSession {
  report: EvalReport;
  /** Sync of the golden set's source into the eval's own database (absent with sourceName). */
  sync?: { status: string; documents: number; chunks: number; ms: number };
}

/**
 * `ballast eval`: either evaluates an indexed source of the configured database, or indexes the
 * golden set's own source (an npm package materialised as a git repository, this repository,
 * or a git location) into a fresh in-memory database with the configured embedder, and
 * evaluates that. Nothing of the eval reaches the configured database in the second case.
 */
export async function runEvalSession(
  golden: GoldenSet,
  options: EvalSessionOptions,
): Promise<EvalSession> {
  if (options.sourceName) {
    if (!options.runtime) throw new Error("runEvalSession: sourceName needs a runtime");
    const deps = pipelineDeps(options.runtime);
    const source = await getSource(options.runtime.db, options.sourceName);
    return { report: await evaluate(deps, golden, source, options) };
  }
  const spec = golden.source;
  if (!spec)
    throw new BallastError(
      "golden_source_missing",
      `golden set ${golden.name} names no source: add "source" to the file, or pass --source with an indexed source`,
      422,
      false,
    );
  const cleanups: (() => Promise<void>)[] = [];
  const runtime = await createRuntime(
    {
      ...options.config,
      database: {
        ...options.config.database,
        driver: "pglite",
        pgliteDir: "memory://",
        url: undefined,
      },
    },
    { log: options.log, migrationsFolder: options.migrationsFolder },
  );
  cleanups.push(() => runtime.close());
  try {
    let location: string;
    let branch: string | undefined;
    if (spec.kind === "npm") {
      options.onProgress?.(`materialising ${spec.package}@${spec.version} as a git repository`);
      const repo = await materialiseNpmPackage(options.root, spec.package, spec.version);
      cleanups.push(repo.cleanup);
      location = repo.dir;
    } else if (spec.kind === "repository") {
      location = options.root;
    } else {
      location = spec.location;
      branch = spec.branch;
    }
    const deps: PipelineDeps = pipelineDeps(runtime);
    const source: SourceRecord = await addSource(runtime.db, {
      kind: "git",
      location,
      branch,
      name: golden.name,
    });
    options.onProgress?.(`indexing ${golden.name} (${location})`);
    const started = performance.now();
    const run = await syncSourceLocally(deps, {
      sourceId: source.id,
      mode: "full",
      trigger: "cli",
      dedupeKey: `eval:${randomUUID()}`,
    });
    const ms = Math.round(performance.now() - started);
    if (run.status !== "succeeded" && run.status !== "completed_with_errors")
      throw new BallastError(
        "eval_sync_failed",
        `indexing ${golden.name} ended ${run.status}${run.error ? `: ${run.error}` : ""}`,
        500,
        false,
      );
    const fresh = await getSource(runtime.db, source.id);
    const report = await evaluate(deps, golden, fresh, options);
    return {
      report,
      sync: { status: run.status, documents: report.documents, chunks: report.chunks, ms },
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}
