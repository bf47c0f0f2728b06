import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../lib/config";
import { loadGolden } from "../../lib/eval/golden";
import type { EvalReport } from "../../lib/eval/run";
import { runEvalSession } from "../../lib/eval/session";
import { createLogger } from "../../lib/log/logger";
import { addSource, parseNewSource } from "../../lib/pipeline/source-records";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { PROJECT_ROOT, runCli } from "../support/cli";
import { makeTempDir, removeTempDirs } from "../support/git-repo";
import { createTestRuntime } from "../support/runtime";

/**
 * Search quality in CI: the smallest golden set (ws, 24 questions over the ws package's
 * sources from node_modules) indexed and searched with the local embedder, against the BM25
 * baseline built in the same run. Floors sit below the figures measured when the set was
 * first run (hybrid recall@5 0.958, MRR@10 0.903; BM25 0.896 / 0.699): a regression in the
 * ranking fails here, while `npm run bench` reports every set.
 */
const FLOORS = { hybridRecallAt5: 0.9, hybridMrrAt10: 0.8 };

describe("ballast eval", () => {
  afterAll(removeTempDirs);

  it("hybrid search beats the BM25 baseline on the ws golden set, above the floors", async () => {
    const dataDir = await makeTempDir();
    const config = loadConfig({
      BALLAST_ENV: "test",
      BALLAST_DATA_DIR: dataDir,
      LOG_LEVEL: "warn",
    });
    const golden = await loadGolden(path.join(PROJECT_ROOT, "eval/golden/ws.json"));
    const { report, sync } = await runEvalSession(golden, {
      k: 10,
      root: PROJECT_ROOT,
      config,
      log: createLogger({ level: "warn", secrets: [] }),
      migrationsFolder: path.join(PROJECT_ROOT, "db/migrations"),
    });
    expect(sync?.status).toBe("succeeded");
    expect(report.missingExpected).toEqual([]);
    expect(report.baselineChunks).toBeGreaterThan(0);
    const { hybrid, lexical, vector, bm25 } = report.systems;
    for (const system of [hybrid, lexical, vector, bm25]) {
      expect(system?.queries).toHaveLength(golden.questions.length);
      for (const q of system?.queries ?? []) {
        expect(q.top.length).toBeGreaterThan(0);
        for (const key of ["recallAt5", "recallAtK", "mrrAt10", "ndcgAt10"] as const) {
          expect(q[key]).toBeGreaterThanOrEqual(0);
          expect(q[key]).toBeLessThanOrEqual(1);
        }
      }
    }
    expect(hybrid?.overall.recallAt5).toBeGreaterThanOrEqual(FLOORS.hybridRecallAt5);
    expect(hybrid?.overall.mrrAt10).toBeGreaterThanOrEqual(FLOORS.hybridMrrAt10);
    expect(hybrid?.overall.recallAt5).toBeGreaterThan(bm25?.overall.recallAt5 ?? 1);
    expect(hybrid?.overall.mrrAt10).toBeGreaterThan(bm25?.overall.mrrAt10 ?? 1);
  }, 120_000);

  it("the CLI prints a table or JSON, evaluates an indexed source, and refuses bad input", async () => {
    const dataDir = await makeTempDir();
    const env = { dataDir, env: { LOG_LEVEL: "warn" } };
    // A small golden set over a source indexed in the configured database.
    const repo = await makeTempDir();
    await writeFile(
      path.join(repo, "golden.json"),
      JSON.stringify({
        name: "own",
        questions: [
          {
            id: "q1",
            question: "verify a GitHub webhook signature",
            expected: ["lib/webhooks/github-signature.ts"],
          },
          {
            id: "q2",
            question: "split markdown at headings",
            expected: ["lib/chunking/markdown.ts"],
          },
        ],
      }),
    );
    // The indexed source is set up directly (as `ballast sources add` + `ballast sync` would, in
    // the development mode the CLI runs in): the CLI processes below are the ones under test.
    const rt = await createTestRuntime({
      BALLAST_ENV: "development",
      BALLAST_DATA_DIR: dataDir,
      PGLITE_DIR: path.join(dataDir, "pglite"),
      LOG_LEVEL: "warn",
    });
    try {
      const source = await addSource(
        rt.db,
        parseNewSource({ location: PROJECT_ROOT, name: "self", include: ["lib/**"] }),
      );
      const run = await syncSourceLocally(rt.deps, {
        sourceId: source.id,
        mode: "full",
        trigger: "cli",
      });
      expect(run.status).toBe("succeeded");
    } finally {
      await rt.close();
    }
    const json = await runCli(
      ["eval", "--golden", path.join(repo, "golden.json"), "--source", "self", "--json"],
      env,
    );
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as EvalReport;
    expect(report.source.name).toBe("self");
    expect(Object.keys(report.systems)).toEqual(["lexical", "vector", "hybrid", "bm25"]);
    expect(report.systems.hybrid?.queries.map((q) => q.id)).toEqual(["q1", "q2"]);
    expect(report.systems.hybrid?.queries[0]?.top.slice(0, 3)).toContain(
      "lib/webhooks/github-signature.ts",
    );
    const text = await runCli(
      ["eval", "--golden", path.join(repo, "golden.json"), "--source", "self", "-k", "5"],
      env,
    );
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/system\s*│\s*recall@5\s*│\s*recall@5\s*│\s*MRR@10\s*│\s*nDCG@10/);
    expect(text.stdout).toMatch(/│ hybrid\s*│ \d\.\d{3}/);

    await writeFile(
      path.join(repo, "bad.json"),
      JSON.stringify({ name: "x", questions: [{ id: "a", question: "", expected: [] }] }),
    );
    // Refused before any database opens: the four at once.
    const [bad, missing, noSource, badK] = await Promise.all([
      runCli(["eval", "--golden", path.join(repo, "bad.json"), "--source", "self"], env),
      runCli(["eval", "--golden", path.join(repo, "nope.json")], env),
      runCli(["eval", "--golden", path.join(repo, "golden.json")], env),
      runCli(["eval", "--golden", path.join(repo, "golden.json"), "-k", "0"], env),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/is not a golden set/);
    expect(bad.stderr).toMatch(/questions\.0\.expected/);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*nope\.json: ENOENT/);
    expect(noSource.code).toBe(1);
    expect(noSource.stderr).toMatch(/names no source/);
    expect(badK.code).toBe(1);
    expect(badK.stderr).toMatch(/--k must be a positive whole number/);
  }, 240_000);
});
