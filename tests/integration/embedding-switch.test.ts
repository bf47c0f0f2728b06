import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../../db/client";
import { searchChunks } from "../../lib/index/search";
import { vectorIndexExists } from "../../lib/index/vector-index";
import { describeRun } from "../../lib/pipeline/runs";
import { addSource, type SourceRecord } from "../../lib/pipeline/source-records";
import { recoverLocally } from "../../lib/workflows/recover-now";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fake-openai";
import { createTestRepo, removeTempDirs, type TestRepo } from "../support/git-repo";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

const OPENAI_KEY = "sk-test-embedding-switch-000000000000001";

/**
 * Switching embedding provider or dimensions needs no migration, and provider failures are
 * per-document outcomes: the run completes with errors and the next sync retries them.
 */
describe("embedding provider changes and failures", () => {
  let base: TestRuntime;
  let repo: TestRepo;
  let source: SourceRecord;
  let openai: FakeOpenAI;
  const runtimes: TestRuntime[] = [];

  const runtimeWith = async (env: Record<string, string>) => {
    const rt = await createTestRuntime(
      // Every source indexed, however small (the threshold has its own test).
      { SYNC_BATCH_SIZE: "2", VECTOR_INDEX_MIN_CHUNKS: "0", ...env },
      { database: base.database },
    );
    runtimes.push(rt);
    return rt;
  };

  beforeAll(async () => {
    base = await createTestRuntime({ SYNC_BATCH_SIZE: "2", VECTOR_INDEX_MIN_CHUNKS: "0" });
    openai = await startFakeOpenAI({ apiKey: OPENAI_KEY });
    repo = await createTestRepo();
    await repo.writeMany({
      "src/billing.ts":
        "export function computeInvoiceTotal(lines: number[]) {\n  return lines.reduce((a, b) => a + b, 0);\n}\n",
      "src/auth.ts":
        "export function checkPassword(hash: string, input: string) {\n  return compare(hash, input);\n}\n",
      "docs/ops.md":
        "# Operations\n\n## Backups\n\nNightly database backups are kept for 30 days.\n",
      "docs/faq.md": "# FAQ\n\nWhere are invoices stored?\n",
    });
    await repo.commit("initial");
    source = await addSource(base.db, { kind: "git", location: repo.dir, name: "switch" });
    const first = await syncSourceLocally(base.deps, { sourceId: source.id, mode: "full" });
    expect(first.status).toBe("succeeded");
  });
  afterAll(async () => {
    for (const rt of runtimes) await rt.redis.close();
    await base.close();
    await openai.close();
    await removeTempDirs();
  });

  it("moves to new dimensions with no migration: new space, its own index, old vectors replaced", async () => {
    const rt = await runtimeWith({ EMBEDDING_DIMENSIONS: "128" });
    expect(rt.embedder.space).toBe("local:ballast-hash-v1:128");
    const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "incremental" });
    expect(run.status).toBe("succeeded");
    expect((await describeRun(rt.db, run)).counts.processed).toBe(4);
    expect(
      await vectorIndexExists(rt.db, {
        space: rt.embedder.space,
        dimensions: 128,
        sourceId: source.id,
      }),
    ).toBe(true);
    const spaces = rowsOf<{ embedding_space: string; dims: number }>(
      await rt.db.execute(
        sql`select distinct embedding_space, dims from chunks where source_id = ${source.id}`,
      ),
    );
    expect(spaces).toEqual([{ embedding_space: "local:ballast-hash-v1:128", dims: 128 }]);
    const hits = await searchChunks(rt.db, rt.embedder, { query: "invoice total", k: 1 });
    expect(hits[0]?.path).toBe("src/billing.ts");
  });

  it("switches provider to OpenAI, with token and cost accounting per run", async () => {
    const rt = await runtimeWith({
      EMBEDDING_PROVIDER: "openai",
      EMBEDDING_MODEL: "text-embedding-3-small",
      EMBEDDING_DIMENSIONS: "64",
      OPENAI_API_KEY: OPENAI_KEY,
      OPENAI_BASE_URL: openai.baseUrl,
    });
    const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "incremental" });
    expect(run.status).toBe("succeeded");
    const view = await describeRun(rt.db, run);
    expect(view.counts.processed).toBe(4);
    expect(view.counts.tokens).toBeGreaterThan(0);
    expect(view.counts.costUsd).toBeCloseTo((view.counts.tokens * 0.02) / 1_000_000, 9);
    expect(openai.requests.every((r) => r.headers.authorization === `Bearer ${OPENAI_KEY}`)).toBe(
      true,
    );
    expect(
      (await searchChunks(rt.db, rt.embedder, { query: "database backups", k: 4 })).length,
    ).toBeGreaterThan(0);
  });

  it("dead-letters documents the provider rejects, and error-recovery re-drives them", async () => {
    const rt = await runtimeWith({
      EMBEDDING_PROVIDER: "openai",
      EMBEDDING_MODEL: "text-embedding-3-small",
      EMBEDDING_DIMENSIONS: "64",
      OPENAI_API_KEY: OPENAI_KEY,
      OPENAI_BASE_URL: openai.baseUrl,
    });
    await repo.write(
      "src/billing.ts",
      "export function computeInvoiceTotal(lines: number[]) {\n  return lines.length;\n}\n",
    );
    await repo.write("docs/faq.md", "# FAQ\n\nInvoices are stored in the billing bucket.\n");
    await repo.commit("edit two files");
    // Re-drives due at once (the default waits 15 minutes before the first).
    rt.deps.dlq = { maxRecoveries: 5, alertDepth: 100, backoffBaseMs: 0 };
    // The two changed documents land in one batch; the provider refuses that request.
    openai.script({ kind: "status", status: 400, body: { error: { message: "input rejected" } } });
    const failing = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "incremental" });
    expect(failing.status).toBe("completed_with_errors");
    const view = await describeRun(rt.db, failing);
    expect(view.counts.failed).toBe(2);
    const failures = rowsOf<{
      path: string;
      message: string;
      error_class: string;
      dependency: string;
      status: string;
    }>(
      await rt.db.execute(
        sql`select path, message, error_class, dependency, status from dead_letters where source_id = ${source.id} order by path`,
      ),
    );
    expect(failures.map((f) => f.path)).toEqual(["docs/faq.md", "src/billing.ts"]);
    expect(failures[0]?.message).toContain("embedding failed");
    expect(failures[0]?.message).not.toContain(OPENAI_KEY);
    expect(failures[0]).toMatchObject({
      error_class: "client",
      dependency: "embedding:openai",
      status: "pending",
    });

    // A plain sync no longer retries them (no open-ended retry): error-recovery re-drives them.
    const plain = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "incremental" });
    expect(plain.processed).toBe(0);
    const recovery = await recoverLocally(rt.deps);
    expect(recovery.redriven).toBe(2);
    const retry = rowsOf<{ status: string; processed: number }>(
      await rt.db.execute(
        sql`select status, processed from sync_runs where trigger = 'retry' and source_id = ${source.id}`,
      ),
    );
    expect(retry).toEqual([{ status: "succeeded", processed: 2 }]);
    const left = rowsOf<{ n: number }>(
      await rt.db.execute(
        sql`select count(*)::int as n from dead_letters where status in ('pending', 'redriven', 'parked')`,
      ),
    );
    expect(left[0]?.n).toBe(0);
    // (The fake provider's vectors are not semantic, so check the stored chunks, not a ranking.)
    const stored = rowsOf<{ content: string }>(
      await rt.db.execute(
        sql`select content from chunks where source_id = ${source.id} and path = 'docs/faq.md'`,
      ),
    );
    expect(stored.map((c) => c.content).join("\n")).toContain("billing bucket");
  });
});
