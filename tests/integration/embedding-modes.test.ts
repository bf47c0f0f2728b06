import { writeFile } from "node:fs/promises";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as healthGet } from "../../app/api/health/route";
import { rowsOf } from "../../db/client";
import { simulatedCalls } from "../../db/schema";
import { createApiKey } from "../../lib/auth/api-keys";
import { parseConfig } from "../../lib/config/schema";
import type { HealthReport } from "../../lib/health/check";
import { searchChunks } from "../../lib/index/search";
import { maintainSeries } from "../../lib/monitoring/series";
import { listSimulatedCalls } from "../../lib/monitoring/simulated-calls";
import { describeRun } from "../../lib/pipeline/runs";
import { addSource } from "../../lib/pipeline/source-records";
import { setRuntime } from "../../lib/runtime";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { runCli } from "../support/cli";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fake-openai";
import { createTestRepo, makeTempDir, removeTempDirs, type TestRepo } from "../support/git-repo";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

const OPENAI_KEY = "sk-test-embedding-modes-0000000000000001";
/** Text only the repository holds: it must never reach a recorded call. */
const MARKER = "reconcileLedgerBalanceQuarterly";

/**
 * EMBEDDING_MODE, the embedding provider's simulation boundary, against a loopback OpenAI
 * server: log-only sends nothing and records every call; off fails a sync at once and writes
 * nothing; live still sends.
 */
describe("EMBEDDING_MODE for a remote provider", () => {
  let base: TestRuntime;
  let repo: TestRepo;
  let openai: FakeOpenAI;
  const runtimes: TestRuntime[] = [];

  const openaiRuntime = async (mode?: string, dimensions = "64") => {
    const rt = await createTestRuntime(
      {
        SYNC_BATCH_SIZE: "2",
        EMBEDDING_PROVIDER: "openai",
        EMBEDDING_MODEL: "text-embedding-3-small",
        EMBEDDING_DIMENSIONS: dimensions,
        OPENAI_API_KEY: OPENAI_KEY,
        OPENAI_BASE_URL: openai.baseUrl,
        ...(mode ? { EMBEDDING_MODE: mode } : {}),
      },
      { database: base.database },
    );
    runtimes.push(rt);
    return rt;
  };

  const recordedCalls = async (rt: TestRuntime) =>
    (await listSimulatedCalls(rt.db, { integration: "embedding.openai", limit: 100_000 })).length;

  beforeAll(async () => {
    base = await createTestRuntime();
    openai = await startFakeOpenAI({ apiKey: OPENAI_KEY });
    repo = await createTestRepo();
    await repo.writeMany({
      "src/ledger.ts": `export function ${MARKER}(rows: number[]) {\n  return rows.reduce((a, b) => a + b, 0);\n}\n`,
      "src/auth.ts":
        "export function checkPassword(hash: string, input: string) {\n  return compare(hash, input);\n}\n",
      "docs/ops.md":
        "# Operations\n\n## Backups\n\nNightly database backups are kept for 30 days.\n",
    });
    await repo.commit("initial");
  });
  afterAll(async () => {
    setRuntime(undefined);
    for (const rt of runtimes) await rt.redis.close();
    await base.close();
    await openai.close();
    await removeTempDirs();
  });

  it("log-only: no request reaches the provider, every call is recorded without its text, the sync completes", async () => {
    const rt = await openaiRuntime("log-only");
    expect(rt.embedder.mode).toBe("log-only");
    expect(rt.embedder.space).toBe("openai:text-embedding-3-small:64:log-only");
    const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "log-only" });
    const before = openai.requests.length;

    const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
    expect(run.status).toBe("succeeded");
    const view = await describeRun(rt.db, run);
    expect(view.counts.processed).toBe(3);
    expect(view.counts.costUsd).toBe(0);
    const chunks = rowsOf<{ space: string; dims: number; n: number }>(
      await rt.db.execute(sql`select embedding_space as space, dims, count(*)::int as n
        from chunks where source_id = ${source.id} group by 1, 2`),
    );
    expect(chunks).toEqual([
      { space: "openai:text-embedding-3-small:64:log-only", dims: 64, n: expect.any(Number) },
    ]);

    // Search answers too (the query is embedded locally, and recorded).
    const hits = await searchChunks(rt.db, rt.embedder, { query: "database backups", k: 3 });
    expect(hits.length).toBeGreaterThan(0);
    expect(openai.requests.length).toBe(before);

    const calls = await listSimulatedCalls(rt.db, { integration: "embedding.openai" });
    const documents = calls.filter((c) => c.operation === "embed_documents");
    const queries = calls.filter((c) => c.operation === "embed_query");
    expect(documents.length).toBeGreaterThan(0);
    expect(documents.reduce((sum, c) => sum + c.items, 0)).toBe(chunks[0]?.n);
    for (const call of documents) {
      expect(call.tokens).toBeGreaterThan(0);
      expect(call.requests).toBeGreaterThan(0);
      expect(call.details).toMatchObject({ model: "text-embedding-3-small", dimensions: 64 });
      expect(call.details.estimatedCostUsd).toBeGreaterThan(0);
    }
    expect(queries).toHaveLength(1);
    expect(queries[0]).toMatchObject({ items: 1, requests: 1 });
    const stored = JSON.stringify(calls);
    expect(stored).not.toContain(MARKER);
    expect(stored).not.toContain("backups");
    expect(stored).not.toContain(OPENAI_KEY);

    // /api/health says so (the mode to anyone, the detail to a viewer).
    setRuntime(rt);
    const anonymous = await healthGet(new Request("http://localhost/api/health"));
    const body = (await anonymous.json()) as HealthReport;
    expect(body.integrations["embedding.openai"]).toEqual({ mode: "log-only", configured: true });
    const viewer = (await createApiKey(rt.db, { name: "ops", role: "viewer", createdBy: "test" }))
      .key;
    const detailed = await healthGet(
      new Request("http://localhost/api/health", {
        headers: { authorization: `Bearer ${viewer}` },
      }),
    );
    expect(((await detailed.json()) as HealthReport).parts.embedding?.detail).toContain(
      "EMBEDDING_MODE=log-only",
    );
    setRuntime(undefined);
  });

  it("off: a sync that needs embeddings fails at once naming EMBEDDING_MODE; nothing written, nothing dead-lettered", async () => {
    const rt = await openaiRuntime("off");
    const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "off" });
    const before = openai.requests.length;
    const recordedBefore = await recordedCalls(rt);

    const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
    expect(run.status).toBe("failed");
    expect(run.error).toContain("EMBEDDING_MODE=off");
    const counts = rowsOf<{ items: number; chunks: number; documents: number; letters: number }>(
      await rt.db.execute(sql`select
        (select count(*) from sync_run_items where run_id = ${run.id})::int as items,
        (select count(*) from chunks where source_id = ${source.id})::int as chunks,
        (select count(*) from documents where source_id = ${source.id})::int as documents,
        (select count(*) from dead_letters where source_id = ${source.id})::int as letters`),
    );
    expect(counts).toEqual([{ items: 0, chunks: 0, documents: 0, letters: 0 }]);
    expect(openai.requests.length).toBe(before);
    // A search cannot embed its query either: a clear, permanent error.
    await expect(
      searchChunks(rt.db, rt.embedder, { query: "database backups", k: 3 }),
    ).rejects.toMatchObject({ code: "embedding_off", retryable: false });
    // Off records nothing either (that is log-only's job).
    expect(await recordedCalls(rt)).toBe(recordedBefore);
  });

  it("live (explicit, and the default outside staging/production) still sends to the provider", async () => {
    // Each in its own space (dimensions), so the second cannot reuse the first's vectors.
    for (const [mode, dimensions] of [
      ["live", "48"],
      [undefined, "32"],
    ] as const) {
      const rt = await openaiRuntime(mode, dimensions);
      expect(rt.embedder.mode ?? "live").toBe("live");
      const source = await addSource(rt.db, {
        kind: "git",
        location: repo.dir,
        name: `live-${mode ?? "default"}`,
      });
      const before = openai.requests.length;
      const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
      expect(run.status).toBe("succeeded");
      expect(openai.requests.length).toBeGreaterThan(before);
      expect((await describeRun(rt.db, run)).counts.costUsd).toBeGreaterThan(0);
    }
  });

  it("recorded calls are kept 30 days: the monitor's series maintenance prunes older ones", async () => {
    const now = new Date();
    await base.db.insert(simulatedCalls).values([
      {
        integration: "embedding.cohere",
        operation: "embed_query",
        at: new Date(now.getTime() - 31 * 24 * 3600_000),
        items: 1,
        requests: 1,
        tokens: 3,
        details: {},
      },
      {
        integration: "embedding.cohere",
        operation: "embed_query",
        at: new Date(now.getTime() - 29 * 24 * 3600_000),
        items: 1,
        requests: 1,
        tokens: 4,
        details: {},
      },
    ]);
    expect(await maintainSeries(base.db, now)).toMatchObject({ simulatedCallsPruned: 1 });
    const left = await listSimulatedCalls(base.db, { integration: "embedding.cohere" });
    expect(left.map((c) => c.tokens)).toEqual([4]);
  });

  it("config: required in staging/production with a remote provider; the local embedder is always live", () => {
    const production = {
      BALLAST_ENV: "production",
      EMBEDDING_PROVIDER: "cohere",
      COHERE_API_KEY: "co-test-key-000000000000000001",
    };
    const missing = parseConfig(production);
    expect(missing.ok).toBe(false);
    if (!missing.ok)
      expect(missing.problems).toContainEqual({
        variable: "EMBEDDING_MODE",
        message: expect.stringContaining(
          "is required in production with EMBEDDING_PROVIDER=cohere",
        ),
      });
    const bad = parseConfig({ ...production, EMBEDDING_MODE: "sometimes" });
    if (!bad.ok)
      expect(bad.problems.find((p) => p.variable === "EMBEDDING_MODE")?.message).toBe(
        "must be live, log-only or off",
      );
    else expect.unreachable("an unknown mode must be refused");

    const local = parseConfig({ BALLAST_ENV: "development", EMBEDDING_MODE: "off" });
    expect(local.ok).toBe(false);
    if (!local.ok)
      expect(local.problems[0]).toMatchObject({
        variable: "EMBEDDING_MODE",
        message: expect.stringContaining("always live"),
      });
    const localLive = parseConfig({ BALLAST_ENV: "development" });
    expect(localLive.ok && localLive.config.monitoring.integrations["embedding.local"]).toEqual({
      mode: "live",
      configured: true,
      detail: "local embedder: no network",
    });
  });

  it("validate-env names a missing EMBEDDING_MODE in production and prints the chosen mode", async () => {
    const dataDir = await makeTempDir("ballast-embedding-mode-");
    const env = {
      DATABASE_URL: "postgres://ballast:pw-0000@db.internal.example:5432/ballast",
      UPSTASH_REDIS_REST_URL: "https://eu1-ballast.upstash.io",
      UPSTASH_REDIS_REST_TOKEN: "upstash-token-0000000001",
      S3_BUCKET: "ballast-archive",
      S3_REGION: "eu-west-1",
      INNGEST_EVENT_KEY: "event-key-00000001",
      INNGEST_SIGNING_KEY: "signkey-prod-000000000001",
      EMBEDDING_PROVIDER: "openai",
      OPENAI_API_KEY: OPENAI_KEY,
    };
    const file = path.join(dataDir, "production.env");
    const write = (vars: Record<string, string>) =>
      writeFile(
        file,
        `${Object.entries(vars)
          .map(([k, v]) => `${k}=${v}`)
          .join("\n")}\n`,
      );
    await write(env);
    const refused = await runCli(["validate-env", "--mode", "production", "--env-file", file], {
      dataDir,
    });
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/- EMBEDDING_MODE: is required in production/);

    await write({ ...env, EMBEDDING_MODE: "log-only" });
    const accepted = await runCli(["validate-env", "--mode", "production", "--env-file", file], {
      dataDir,
    });
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stdout).toMatch(/ballast: outbound: .*embedding\.openai log-only/);
    expect(accepted.stdout).toMatch(/ballast: embedding: openai .*log-only/);
    expect(`${accepted.stdout}${accepted.stderr}`).not.toContain(OPENAI_KEY);
  });
});
