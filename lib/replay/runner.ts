import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ledgerEntries, sources } from "../../db/schema";
import type { Config } from "../config";
import { errorMessage } from "../errors";
import type { GoldenSet } from "../eval/golden";
import { evaluate } from "../eval/run";
import { indexDigest, runEntries } from "../ledger/record";
import { createLogger } from "../log/logger";
import { createScrubber } from "../log/scrub";
import { pipelineDeps } from "../pipeline/deps";
import { getSource } from "../pipeline/source-records";
import { createRedisStore } from "../redis";
import { createRuntime, type Runtime } from "../runtime";
import { syncSourceLocally } from "../workflows/sync-now";
import type { BundleEntry, ReplayBundle } from "./bundle";
import { replayConfig } from "./bundle";
import {
  type BatchData,
  diffRun,
  type EventDiff,
  type PlanData,
  type RunData,
  type RunLedger,
  type Tolerance,
} from "./diff";
import { GitHubReplay, REPLAY_GITHUB_API } from "./github";
import { restoreBundle, setBranch } from "./repository";

/**
 * The replay runner: re-executes a bundle's sync requests through the current code in a
 * sandbox — its own in-memory database, its own in-process Redis, an archive folder and work
 * directory in a temp dir, the sources' repositories restored from the bundle's git objects,
 * the local embedder (no provider is called), and no event leaves it (the inline driver runs
 * every fanned-out batch itself; nothing is sent to Inngest, no alert reaches a channel).
 * Each request runs against the commit its recorded run saw; a source whose first run was
 * incremental is first indexed at that run's starting cursor. Its own ledger entries are then
 * diffed against the recorded ones.
 */

export interface ReplayOptions {
  /** The current configuration: its chunking, embedding dimensions and batch size apply. */
  config: Config;
  tolerance?: Partial<Tolerance>;
  /** Search quality on a golden set, over the replayed index of `goldenSource` (default: the first source). */
  golden?: { set: GoldenSet; source?: string; k?: number };
  migrationsFolder?: string;
  onProgress?(message: string): void;
}

export interface ReplayedEvent {
  runId: string;
  sourceId: string;
  sourceName: string;
  /** The inbound event that caused the run (webhook delivery, admin request, cron tick), if recorded. */
  cause: { name: string; correlationId: string } | null;
  trigger: string;
  diff: EventDiff;
  wallMs: number;
}

export interface SkippedEvent {
  runId: string;
  reason: string;
}

export interface ReplayResult {
  bundle: { id: string; window: ReplayBundle["window"]; configHash: string };
  configHash: string;
  events: ReplayedEvent[];
  skipped: SkippedEvent[];
  /** Sources of other runs whose index changed during a replayed run (must be none). */
  outsideChanges: { runId: string; sourceId: string }[];
  search: SearchQuality | null;
  /** Every line the sandbox logged, and its ledger, for the secret scan. */
  sandboxText: string;
  tolerance: Tolerance;
  wallMs: number;
}

export interface SearchQuality {
  golden: string;
  source: string;
  k: number;
  systems: Record<string, { recallAtK: number; recallAt5: number; mrrAt10: number }>;
  missingExpected: number;
  error?: string;
}

function ledgerOf(entries: { kind: string; data: unknown }[]): RunLedger | undefined {
  const run = entries.find((e) => e.kind === "run");
  if (!run) return undefined;
  return {
    plan: entries.find((e) => e.kind === "plan")?.data as PlanData | undefined,
    batches: entries
      .filter((e) => e.kind === "batch")
      .map((e) => e.data as BatchData)
      .sort((a, b) => a.batch - b.batch),
    run: run.data as RunData,
  };
}

/** The sandbox's configuration: the current settings on embedded, isolated backends. */
function sandboxConfig(config: Config, dir: string): Config {
  const local = config.embedding.provider === "local";
  return {
    ...config,
    dataDir: dir,
    logLevel: "warn",
    database: { driver: "pglite", url: undefined, pgliteDir: "memory://", neonWsProxy: undefined },
    redis: { backend: "memory", required: false, url: undefined, token: undefined },
    archive: { backend: "folder", dir: path.join(dir, "archive"), s3: undefined },
    embedding: {
      ...config.embedding,
      provider: "local",
      model: local ? config.embedding.model : "ballast-hash-v1",
      dimensions: local ? config.embedding.dimensions : 256,
      openai: { ...config.embedding.openai, apiKey: undefined },
      cohere: { ...config.embedding.cohere, apiKey: undefined },
    },
    sync: { ...config.sync, workDir: path.join(dir, "work") },
    github: {
      ...config.github,
      apiUrl: REPLAY_GITHUB_API,
      token: undefined,
      appId: undefined,
      privateKey: undefined,
    },
    ledger: { ...config.ledger, enabled: true },
  };
}

export async function runReplay(
  bundle: ReplayBundle,
  options: ReplayOptions,
): Promise<ReplayResult> {
  const started = performance.now();
  const tolerance: Tolerance = {
    latency: options.tolerance?.latency ?? options.config.replay.latencyTolerance,
    floorMs: options.tolerance?.floorMs ?? options.config.replay.latencyFloorMs,
  };
  const dir = await mkdtemp(path.join(tmpdir(), "ballast-replay-"));
  const logLines: string[] = [];
  const config = sandboxConfig(options.config, dir);
  let runtime: Runtime | undefined;
  try {
    runtime = await createRuntime(config, {
      log: createLogger({
        level: "warn",
        secrets: options.config.secrets,
        destination: { write: (line: string) => logLines.push(line) },
        base: { replay: bundle.id },
      }),
      migrationsFolder: options.migrationsFolder,
      redis: createRedisStore({ backend: "memory", env: config.mode }),
    });
    const github = new GitHubReplay();
    const deps = { ...pipelineDeps(runtime), githubFetch: github.fetch };
    const result: ReplayResult = {
      bundle: { id: bundle.id, window: bundle.window, configHash: bundle.config.hash },
      configHash: replayConfig(options.config).hash,
      events: [],
      skipped: bundle.skippedRuns.map((s) => ({ runId: s.id, reason: s.reason })),
      outsideChanges: [],
      search: null,
      sandboxText: "",
      tolerance,
      wallMs: 0,
    };

    // The sources, with their recorded ids, reading the restored repositories.
    const repos = new Map(bundle.repositories.map((r) => [r.sourceId, r]));
    const entriesByRun = new Map<string, BundleEntry[]>();
    for (const entry of bundle.entries)
      if (entry.runId) {
        const list = entriesByRun.get(entry.runId);
        if (list) list.push(entry);
        else entriesByRun.set(entry.runId, [entry]);
      }
    const causes = new Map(
      bundle.entries
        .filter((e) => e.kind === "event" && e.correlationId)
        .map((e) => [
          e.correlationId as string,
          { name: e.name, correlationId: e.correlationId as string },
        ]),
    );
    /** Per replayable source: the commits it has, and how to move its branch to one. */
    const replayable = new Map<
      string,
      { commits: Set<string>; moveTo(commit: string, branch: string | null): Promise<void> }
    >();
    await mkdir(path.join(dir, "repos"), { recursive: true });
    for (const source of bundle.sources) {
      const repo = repos.get(source.id);
      const firstPlan = bundle.runs
        .filter((r) => r.sourceId === source.id)
        .map((r) => ledgerOf(entriesByRun.get(r.id) ?? [])?.plan)
        .find((p) => p?.branch);
      if (source.kind === "github" && repo?.github) {
        github.add(repo.github);
        const fallback = firstPlan?.branch ?? source.branch ?? "main";
        await runtime.db.insert(sources).values({
          id: source.id,
          name: source.name,
          kind: "github",
          location: source.location,
          branch: source.branch,
          include: source.include,
          exclude: source.exclude,
          maxFileBytes: source.maxFileBytes,
        });
        replayable.set(source.id, {
          commits: new Set(repo.commits),
          moveTo: async (commit, branch) =>
            github.setHead(source.location, branch ?? fallback, commit),
        });
        continue;
      }
      if (!repo?.gitBundle) continue;
      const branch = firstPlan?.branch ?? source.branch ?? "main";
      const repoDir = path.join(dir, "repos", `${source.id}.git`);
      await restoreBundle(Buffer.from(repo.gitBundle, "base64"), repoDir, branch);
      await runtime.db.insert(sources).values({
        id: source.id,
        name: source.name,
        kind: "git",
        location: repoDir,
        branch,
        include: source.include,
        exclude: source.exclude,
        maxFileBytes: source.maxFileBytes,
      });
      replayable.set(source.id, {
        commits: new Set(repo.commits),
        moveTo: (commit) => setBranch(repoDir, branch, commit),
      });
    }

    const bootstrapped = new Set<string>();
    const names = new Map(bundle.sources.map((s) => [s.id, s.name]));
    let index = 0;
    for (const run of bundle.runs) {
      index++;
      const recorded = ledgerOf(entriesByRun.get(run.id) ?? []);
      const repo = replayable.get(run.sourceId);
      const skip = (reason: string) => result.skipped.push({ runId: run.id, reason });
      if (!recorded) {
        skip("the run's outcome is not in the bundle");
        continue;
      }
      if (!repo) {
        skip(
          repos.get(run.sourceId)?.reason ?? "the bundle holds no repository state for its source",
        );
        continue;
      }
      const plan = recorded.plan;
      if (!plan?.toCommit) {
        skip(
          plan
            ? "the recorded run saw no commit (empty repository or deleted branch)"
            : "the recorded run never planned (it ended before reading the repository)",
        );
        continue;
      }
      if (!repo.commits.has(plan.toCommit)) {
        skip(`commit ${plan.toCommit.slice(0, 12)} is not in the bundle`);
        continue;
      }
      options.onProgress?.(
        `replaying ${index}/${bundle.runs.length}: ${run.trigger} sync of ${names.get(run.sourceId) ?? run.sourceId} @ ${plan.toCommit.slice(0, 12)}`,
      );
      try {
        if (!bootstrapped.has(run.sourceId)) {
          bootstrapped.add(run.sourceId);
          const cursor = plan.cursorBefore.commit;
          if (cursor) {
            if (!repo.commits.has(cursor)) {
              skip(`the starting cursor ${cursor.slice(0, 12)} is not in the bundle`);
              continue;
            }
            // The index as it stood before the window: built by the current code at the cursor.
            await repo.moveTo(cursor, plan.branch);
            await syncSourceLocally(deps, {
              sourceId: run.sourceId,
              mode: "full",
              trigger: "cli",
              dedupeKey: `replay-bootstrap:${run.id}`,
            });
          }
        }
        await repo.moveTo(plan.toCommit, plan.branch);
        const others = [...replayable.keys()].filter((id) => id !== run.sourceId);
        const db = runtime.db;
        const before = await Promise.all(others.map((id) => indexDigest(db, id)));
        const unansweredBefore = github.stats.unanswered.length;
        const t0 = performance.now();
        const replayedRun = await syncSourceLocally(deps, {
          sourceId: run.sourceId,
          mode: run.requestedMode,
          trigger: run.trigger,
          dedupeKey: run.dedupeKey,
          correlationId: run.correlationId ?? undefined,
        });
        const wallMs = Math.round(performance.now() - t0);
        const after = await Promise.all(others.map((id) => indexDigest(db, id)));
        others.forEach((id, i) => {
          if (before[i]?.digest !== after[i]?.digest)
            result.outsideChanges.push({ runId: run.id, sourceId: id });
        });
        const replayed = ledgerOf(await runEntries(runtime.db, [replayedRun.id]));
        if (!replayed) {
          skip("the replayed run recorded no outcome");
          continue;
        }
        const diff = diffRun(recorded, replayed, tolerance);
        const unanswered = [...new Set(github.stats.unanswered.slice(unansweredBefore))];
        if (unanswered.length > 0) {
          diff.verdict = "critical";
          diff.reasons.unshift(
            `the bundle holds no recorded answer to ${unanswered.length} GitHub request(s), e.g. ${unanswered.slice(0, 3).join(", ")}`,
          );
        }
        const outside = result.outsideChanges.filter((o) => o.runId === run.id);
        if (outside.length > 0) {
          diff.verdict = "critical";
          diff.reasons.unshift(
            `the index of ${outside.length} other source(s) changed: ${outside.map((o) => names.get(o.sourceId) ?? o.sourceId).join(", ")}`,
          );
        }
        result.events.push({
          runId: run.id,
          sourceId: run.sourceId,
          sourceName: names.get(run.sourceId) ?? run.sourceId,
          cause: (run.correlationId && causes.get(run.correlationId)) || null,
          trigger: run.trigger,
          diff,
          wallMs,
        });
      } catch (error) {
        result.events.push({
          runId: run.id,
          sourceId: run.sourceId,
          sourceName: names.get(run.sourceId) ?? run.sourceId,
          cause: (run.correlationId && causes.get(run.correlationId)) || null,
          trigger: run.trigger,
          diff: {
            verdict: "critical",
            reasons: [`the replay failed: ${errorMessage(error).slice(0, 500)}`],
            documents: [],
            latency: [],
          },
          wallMs: 0,
        });
      }
    }

    if (options.golden) result.search = await searchQuality(runtime, bundle, options.golden);
    const ledgerText = JSON.stringify(await runtime.db.select().from(ledgerEntries));
    result.sandboxText = `${logLines.join("")}\n${ledgerText}`;
    result.wallMs = Math.round(performance.now() - started);
    return result;
  } finally {
    await runtime?.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

async function searchQuality(
  runtime: Runtime,
  bundle: ReplayBundle,
  golden: NonNullable<ReplayOptions["golden"]>,
): Promise<SearchQuality> {
  const k = golden.k ?? 10;
  const name = golden.source ?? bundle.sources[0]?.name ?? "";
  try {
    const source = await getSource(runtime.db, name);
    const report = await evaluate(pipelineDeps(runtime), golden.set, source, {
      k,
      systems: ["lexical", "vector", "hybrid"],
    });
    return {
      golden: golden.set.name,
      source: source.name,
      k,
      missingExpected: report.missingExpected.length,
      systems: Object.fromEntries(
        Object.entries(report.systems).map(([system, r]) => [
          system,
          {
            recallAtK: r.overall.recallAtK,
            recallAt5: r.overall.recallAt5,
            mrrAt10: r.overall.mrrAt10,
          },
        ]),
      ),
    };
  } catch (error) {
    return {
      golden: golden.set.name,
      source: name,
      k,
      missingExpected: 0,
      systems: {},
      error: createScrubber([])(errorMessage(error)).slice(0, 300),
    };
  }
}
