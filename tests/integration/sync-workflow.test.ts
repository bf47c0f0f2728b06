import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../../db/client";
import { createEmbeddingProvider } from "../../lib/embedding";
import { planRun } from "../../lib/pipeline/plan";
import { createRun, finishRun, getRun, listRuns } from "../../lib/pipeline/runs";
import { addSource } from "../../lib/pipeline/source-records";
import { workflows } from "../../lib/workflows";
import { SYNC_REQUESTED } from "../../lib/workflows/events";
import { runInline } from "../../lib/workflows/inline";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { syncSourceWorkflow } from "../../lib/workflows/sync-source";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fake-openai";
import { createTestRepo, removeTempDirs, type TestRepo } from "../support/git-repo";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

/**
 * The orchestration rules of a sync, tested once through the driver every engine shares
 * (lib/workflows/sync-source.ts): busy wait, give-up-busy, abandon-stuck-batches, onFailure
 * after a planning error, and process-batch's onFailure. Time is injected: waits are counted,
 * not slept.
 */
describe("the sync workflow's rules", () => {
  let rt: TestRuntime;
  let repo: TestRepo;

  beforeAll(async () => {
    // Loopback git remotes are allowed here: one test points a source at a closed local port.
    rt = await createTestRuntime({ SYNC_BATCH_SIZE: "2", OUTBOUND_ALLOW_HOSTS: "127.0.0.1" });
    repo = await createTestRepo();
    await repo.writeMany({
      "a.md": "# A\n\nalpha\n",
      "b.ts": "export const b = 2;\n",
      "c.ts": "export const c = 3;\n",
    });
    await repo.commit("initial");
  });
  afterAll(async () => {
    await rt.close();
    await removeTempDirs();
  });

  const runsOf = async (sourceId: string) =>
    (await listRuns(rt.db, { sourceId, limit: 50 })).map((r) => r.run);

  it("waits while the source is busy and proceeds once the other run ends", async () => {
    const source = await addSource(rt.db, {
      kind: "git",
      location: repo.dir,
      name: "busy-then-free",
    });
    const blocker = await createRun(rt.db, {
      sourceId: source.id,
      trigger: "cli",
      mode: "full",
      dedupeKey: "blocker-1",
    });
    await planRun(rt.deps, blocker.id);
    const waits: number[] = [];
    const run = await syncSourceLocally(
      { ...rt.deps, syncTiming: { busyPollMs: 500, busyWaitMs: 10_000 } },
      {
        sourceId: source.id,
        mode: "full",
        sleep: async (ms) => {
          waits.push(ms);
          // The other run ends during the second wait.
          if (waits.length === 2)
            await finishRun(rt.db, blocker.id, "cancelled", { error: "test: ended" });
        },
      },
    );
    expect(waits).toEqual([500, 500]);
    expect(run.status).toBe("succeeded");
    expect(run.processed).toBe(3);
  });

  it("abandons batches that never finish, and the run still ends with a status", async () => {
    const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "stuck" });
    const deps = {
      ...rt.deps,
      syncTiming: { batchPollMs: 1000, batchWaitMs: 3000 },
    };
    // No batch workflow is served: the fanned-out batches are never processed.
    const outcome = await runInline(
      syncSourceWorkflow,
      {
        id: "stuck-1",
        name: SYNC_REQUESTED,
        data: { sourceId: source.id, mode: "full", trigger: "admin", dedupeKey: "stuck-1" },
      },
      { deps: async () => deps, log: rt.log, workflows: [syncSourceWorkflow] },
    );
    expect(outcome.ok).toBe(true);
    const [run] = await runsOf(source.id);
    expect(run?.status).toBe("completed_with_errors");
    expect(run?.failed).toBe(3);
    const errors = rowsOf<{ error: string }>(
      await rt.db.execute(
        sql`select distinct error from sync_run_items where run_id = ${run?.id ?? ""}`,
      ),
    );
    expect(errors).toEqual([{ error: "not processed within 3 seconds" }]);
  });

  it("ends a run whose planning keeps failing with a retryable error, freeing the source between attempts", async () => {
    const source = await addSource(rt.db, {
      kind: "git",
      location: "http://127.0.0.1:9/nothing-listens-here.git",
      name: "unreachable",
    });
    const statuses: string[] = [];
    const run = await syncSourceLocally(rt.deps, {
      sourceId: source.id,
      mode: "full",
      sleep: async () => {
        const [current] = await runsOf(source.id);
        statuses.push(current?.status ?? "none");
      },
    });
    // Four retries after the first attempt, the source free (queued run) before each.
    expect(statuses).toEqual(["queued", "queued", "queued", "queued"]);
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/sync failed: git .* failed/);
    expect(run.finishedAt).not.toBeNull();
  });

  it("fails a batch whose provider keeps failing, and the run completes with errors", async () => {
    const key = "sk-test-sync-workflow-0000000000000001";
    const openai: FakeOpenAI = await startFakeOpenAI({ apiKey: key });
    try {
      const embedder = createEmbeddingProvider({
        provider: "openai",
        model: "text-embedding-3-small",
        dimensions: 32,
        batchSize: 96,
        maxRetries: 0,
        openai: { apiKey: key, baseUrl: openai.baseUrl },
        cohere: { apiKey: undefined, baseUrl: "https://api.cohere.com" },
      });
      const failing = await createTestRuntime(
        { SYNC_BATCH_SIZE: "2" },
        { database: rt.database, embedder },
      );
      const source = await addSource(rt.db, {
        kind: "git",
        location: repo.dir,
        name: "provider-down",
      });
      for (let i = 0; i < 50; i++)
        openai.script({ kind: "status", status: 503, body: { error: { message: "overloaded" } } });
      const run = await syncSourceLocally(failing.deps, {
        sourceId: source.id,
        mode: "full",
        sleep: async () => {},
      });
      await failing.redis.close();
      expect(run.status).toBe("completed_with_errors");
      expect(run.failed).toBe(3);
      const errors = rowsOf<{ error: string }>(
        await rt.db.execute(sql`select error from sync_run_items where run_id = ${run.id}`),
      );
      for (const { error } of errors) {
        expect(error).toMatch(/^batch failed after retries: /);
        expect(error).not.toContain(key);
      }
      // Two batches, each tried once and retried five times, one request per attempt.
      expect(openai.requests.length).toBe(12);
      const source2 = await getRun(rt.db, run.id);
      expect(source2.finishedAt).not.toBeNull();
    } finally {
      await openai.close();
    }
  });

  it("rejects an event whose data does not match the schema before any step runs", async () => {
    const before = await rt.db.execute(sql`select count(*)::int as n from sync_runs`);
    for (const wf of workflows) {
      const outcome = await runInline(
        wf,
        { id: "bad-1", name: "x", data: { sourceId: "x'; drop table sources; --", runId: 7 } },
        { deps: async () => rt.deps, log: rt.log, workflows },
      );
      expect(outcome.ok, wf.id).toBe(false);
      if (!outcome.ok) expect(outcome.invalid, wf.id).toBe(true);
    }
    expect(await rt.db.execute(sql`select count(*)::int as n from sync_runs`)).toEqual(before);
  });
});
