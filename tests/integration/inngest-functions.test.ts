import { InngestTestEngine } from "@inngest/test";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../../db/client";
import { flushOutbox } from "../../inngest/functions/flush-outbox";
import { processBatchFn } from "../../inngest/functions/process-batch";
import { scheduleSyncs } from "../../inngest/functions/schedule-syncs";
import { syncSource } from "../../inngest/functions/sync-source";
import { functions } from "../../inngest/index";
import { enqueueEvents } from "../../lib/outbox/outbox";
import { createRun, getRun, listRuns } from "../../lib/pipeline/runs";
import { addSource, listSources, type SourceRecord } from "../../lib/pipeline/source-records";
import { setRuntime } from "../../lib/runtime";
import { createTestRepo, removeTempDirs, type TestRepo } from "../support/git-repo";
import { freshFullSyncSnapshot, snapshotIndex } from "../support/index-snapshot";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

/**
 * The engine really sends step.sendEvent events (to a dev server that is not running here),
 * so those steps get a mocked result; their input is still recorded on ctx.step.sendEvent.
 */
function sent(...ids: string[]) {
  return ids.map((id) => ({ id, handler: () => ({ ids: [] as string[] }) }));
}
const SYNC_SENDS = sent("fan-out-batches", "emit-completed");

function syncEvent(
  sourceId: string,
  dedupeKey: string,
  mode: "full" | "incremental" = "incremental",
) {
  return {
    name: "source/sync.requested",
    data: { sourceId, mode, trigger: "admin", dedupeKey },
  } as const;
}

/** Runs every batch of the run through the real process-batch function, as Inngest would. */
async function runBatches(rt: TestRuntime, sourceId: string) {
  const [latest] = await listRuns(rt.db, { sourceId, limit: 1 });
  if (!latest) throw new Error("no run");
  const run = latest.run;
  for (let batch = 0; batch < run.batchesTotal; batch++) {
    const engine = new InngestTestEngine({
      function: processBatchFn,
      events: [{ name: "source/batch.requested", data: { runId: run.id, sourceId, batch } }],
      steps: sent("signal-batches-completed"),
    });
    const { error } = await engine.execute();
    if (error) throw error;
  }
  return { name: "source/run.batches-completed", data: { runId: run.id, sourceId } };
}

describe("Inngest functions through @inngest/test", () => {
  let rt: TestRuntime;
  let repo: TestRepo;
  let source: SourceRecord;

  beforeAll(async () => {
    rt = await createTestRuntime({ SYNC_BATCH_SIZE: "2" });
    setRuntime(rt);
    repo = await createTestRepo();
    await repo.writeMany({
      "README.md": "# Project\n\nHow to deploy the service.\n",
      "src/a.ts": "export const a = 1;\n",
      "src/b.ts": "export function b() {\n  return 2;\n}\n",
      "src/c.py": "def c():\n    return 3\n",
      "docs/d.md": "# D\n\n## Part\n\nText about d.\n",
    });
    await repo.commit("initial");
    source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "fn-demo" });
  });
  afterAll(async () => {
    setRuntime(undefined);
    await rt.close();
    await removeTempDirs();
  });

  it("serves every function from one list", () => {
    const ids = functions.map((f) => f.id());
    expect(ids.sort()).toEqual([
      "cleanup",
      "flush-outbox",
      "process-batch",
      "schedule-syncs",
      "sync-source",
    ]);
  });

  it("sync-source plans, fans out batches as events, tracks completion and emits it", async () => {
    // Inngest would run process-batch for each fanned-out event; here the fan-out step's
    // mock does exactly that with the real function before the orchestrator checks progress.
    const engine = new InngestTestEngine({
      function: syncSource,
      events: [syncEvent(source.id, "fn-sync-1")],
      steps: [
        {
          id: "fan-out-batches",
          handler: async () => ({ ids: (await runBatches(rt, source.id)) && [] }),
        },
        ...sent("emit-completed"),
      ],
    });
    const { result, ctx, error } = await engine.execute();
    expect(error).toBeUndefined();
    const summary = result as {
      status: string;
      counts: { processed: number };
      batches: { total: number };
    };
    expect(summary.status).toBe("succeeded");
    expect(summary.counts.processed).toBe(5);
    expect(summary.batches.total).toBe(3);
    const sendCalls = (ctx.step.sendEvent as unknown as { mock: { calls: [string, unknown][] } })
      .mock.calls;
    const [completed] = (sendCalls.find(([id]) => id === "emit-completed")?.[1] ?? []) as {
      name: string;
      data: { status: string };
    }[];
    expect(completed?.name).toBe("source/sync.completed");
    expect(completed?.data.status).toBe("succeeded");
    expect(await snapshotIndex(rt.db, source.id)).toEqual(
      await freshFullSyncSnapshot(rt, repo.dir),
    );
  });

  it("is idempotent: the same event delivered again changes nothing", async () => {
    const before = await snapshotIndex(rt.db, source.id);
    const runsBefore = await listRuns(rt.db, { sourceId: source.id, limit: 100 });
    const engine = new InngestTestEngine({
      function: syncSource,
      events: [syncEvent(source.id, "fn-sync-1")],
      steps: SYNC_SENDS,
    });
    const { result, error } = await engine.execute();
    expect(error).toBeUndefined();
    expect((result as { status: string }).status).toBe("succeeded");
    expect(await listRuns(rt.db, { sourceId: source.id, limit: 100 })).toHaveLength(
      runsBefore.length,
    );
    expect(await snapshotIndex(rt.db, source.id)).toEqual(before);
  });

  it("process-batch run twice for the same batch does the work once", async () => {
    await repo.write("src/e.ts", "export const e = 5;\n");
    await repo.commit("add e");
    const run = await createRun(rt.db, {
      sourceId: source.id,
      trigger: "admin",
      mode: "incremental",
      dedupeKey: "fn-twice",
    });
    const plan = new InngestTestEngine({
      function: syncSource,
      events: [syncEvent(source.id, "fn-twice")],
    });
    const planned = await plan.executeStep("plan");
    expect((planned.result as { state: string }).state).toBe("planned");
    const event = {
      name: "source/batch.requested",
      data: { runId: run.id, sourceId: source.id, batch: 0 },
    } as const;
    const first = await new InngestTestEngine({
      function: processBatchFn,
      events: [event],
      steps: sent("signal-batches-completed"),
    }).execute();
    const second = await new InngestTestEngine({
      function: processBatchFn,
      events: [event],
      steps: sent("signal-batches-completed"),
    }).execute();
    expect((first.result as { processed: number }).processed).toBe(1);
    expect((second.result as { processed: number }).processed).toBe(0);
    const items = rowsOf<{ attempts: number; status: string }>(
      await rt.db.execute(
        sql`select attempts, status from sync_run_items where run_id = ${run.id}`,
      ),
    );
    expect(items).toEqual([{ attempts: 1, status: "done" }]);
    expect((await getRun(rt.db, run.id)).status).toBe("running");
  });

  it("schedule-syncs requests every active source, skips one already syncing, staggers, and is idempotent", async () => {
    const idle = await addSource(rt.db, { kind: "git", location: repo.dir, name: "fn-idle" });
    const idle2 = await addSource(rt.db, { kind: "git", location: repo.dir, name: "fn-idle-2" });
    const tick = Date.parse("2026-11-23T12:00:00Z");
    const execute = () =>
      new InngestTestEngine({
        function: scheduleSyncs,
        events: [{ name: "inngest/scheduled.timer", data: { cron: "0 */6 * * *" }, ts: tick }],
        steps: sent("request-syncs"),
      }).execute();
    const { result, ctx, error } = await execute();
    expect(error).toBeUndefined();
    const outcome = result as { scheduled: number; skipped: { sourceId: string }[] };
    // fn-demo has a running run from the previous test: skipped.
    expect(outcome.skipped.map((s) => s.sourceId)).toContain(source.id);
    const requested =
      (
        ctx.step.sendEvent as unknown as {
          mock: { calls: [string, { data: { sourceId: string }; ts: number }[]][] };
        }
      ).mock.calls[0]?.[1] ?? [];
    const everyOther = (await listSources(rt.db))
      .filter((s) => s.id !== source.id)
      .map((s) => s.id);
    expect(everyOther).toEqual(expect.arrayContaining([idle.id, idle2.id]));
    expect(requested.map((e) => e.data.sourceId).sort()).toEqual(everyOther.sort());
    const times = requested.map((e) => e.ts).sort();
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBe(30_000);
    const queued = await listRuns(rt.db, { sourceId: idle.id, limit: 10 });
    expect(queued.map((r) => r.run.status)).toEqual(["queued"]);
    await execute();
    expect(await listRuns(rt.db, { sourceId: idle.id, limit: 10 })).toHaveLength(1);
  });

  it("flush-outbox keeps events pending when Inngest is unreachable", async () => {
    await enqueueEvents(rt.db, [
      { id: "fn-outbox-1", name: "source/sync.requested", data: { sourceId: source.id } },
    ]);
    const { result, error } = await new InngestTestEngine({
      function: flushOutbox,
      events: [{ name: "inngest/scheduled.timer", data: {} }],
    }).execute();
    expect(error).toBeUndefined();
    expect((result as { failed: number }).failed).toBeGreaterThanOrEqual(1);
    const rows = rowsOf<{ status: string; attempts: number; last_error: string }>(
      await rt.db.execute(
        sql`select status, attempts, last_error from outbox_events where id = 'fn-outbox-1'`,
      ),
    );
    expect(rows[0]).toMatchObject({ status: "pending", attempts: 1 });
    expect(rows[0]?.last_error).toBeTruthy();
  });

  // Kept last: an execution paused at a waitForEvent stays open inside the test engine.
  it("sync-source waits for its own run's completion signal while batches are pending", async () => {
    const waiting = await addSource(rt.db, { kind: "git", location: repo.dir, name: "fn-waiting" });
    const engine = new InngestTestEngine({
      function: syncSource,
      events: [syncEvent(waiting.id, "fn-wait-1")],
      steps: sent("fan-out-batches"),
    });
    const paused = await engine.executeStep("wait-for-batches-0");
    const [run] = await listRuns(rt.db, { sourceId: waiting.id, limit: 1 });
    const call = (
      paused.ctx.step.waitForEvent as unknown as {
        mock: { calls: [string, { if: string; timeout: number; event: string }][] };
      }
    ).mock.calls[0];
    expect(call?.[0]).toBe("wait-for-batches-0");
    expect(call?.[1].event).toBe("source/run.batches-completed");
    expect(call?.[1].if).toBe(`async.data.runId == "${run?.run.id}"`);
    expect(call?.[1].timeout).toBe(120_000);
  });
});
