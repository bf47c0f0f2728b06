import { sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../../db/client";
import { addSource, removeSource } from "../../lib/pipeline/source-records";
import { EmbeddedRunner } from "../../lib/runner/embedded-runner";
import { workflows } from "../../lib/workflows";
import { FUNCTION_FAILED, SYNC_REQUESTED } from "../../lib/workflows/events";
import { createTestRepo, removeTempDirs } from "../support/git-repo";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

const report = (line: string) => process.stdout.write(`${line}\n`);

/**
 * Under Inngest a function's final failure sends `inngest/function.failed`, which triggers
 * error-recovery (dead-letter entry, `sync.failed` alert). The embedded runner does the same:
 * a sync that fails for good on the embedded defaults reaches the dead-letter queue and raises
 * the alert record, once, with the event's typed data.
 */
describe("the embedded runner reports final failures to error-recovery", () => {
  let rt: TestRuntime;
  let runner: EmbeddedRunner | undefined;

  const startRunner = () => {
    runner = new EmbeddedRunner({
      db: rt.db,
      deps: async () => rt.deps,
      log: rt.log,
      workflows,
      crons: false,
      pollMs: 50,
      backoff: { delayMs: () => 10, maxRetryAfterMs: 1000 },
      functionRetryDelayMs: () => 10,
    });
    runner.start();
    return runner;
  };

  beforeAll(async () => {
    rt = await createTestRuntime({ SYNC_BATCH_SIZE: "2" });
  });
  afterEach(async () => {
    await runner?.stop();
    runner = undefined;
  });
  afterAll(async () => {
    await rt.close();
    await removeTempDirs();
  });

  const jobs = async () =>
    rowsOf<{
      id: string;
      workflow: string;
      status: string;
      event_id: string;
      event_name: string;
      data: Record<string, unknown>;
    }>(
      await rt.db.execute(
        sql`select id, workflow, status, event_id, event_name, data from workflow_jobs order by created_at`,
      ),
    );

  it("sends function.failed after a sync's last retry: DLQ entry and sync.failed alert, once", async () => {
    // A sync requested for a source that was removed before the sync ran: every attempt
    // fails (the run cannot be created), and so does onFailure's; the sync fails for good.
    const repo = await createTestRepo();
    await repo.writeMany({ "src/a.ts": "export const a = 1;\n" });
    await repo.commit("initial");
    const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "removed" });
    await removeSource(rt.db, source.id);
    const event = {
      id: "failing-sync-1",
      name: SYNC_REQUESTED,
      data: {
        sourceId: source.id,
        mode: "full",
        trigger: "admin",
        dedupeKey: "failing-sync-1",
        correlationId: "failing-sync-1",
      },
    };

    const r = startRunner();
    await r.accept([event]);
    await r.idle();

    const all = await jobs();
    const sync = all.find((j) => j.workflow === "sync-source");
    expect(sync?.status).toBe("failed");
    const recovery = all.filter((j) => j.workflow === "error-recovery");
    expect(recovery).toHaveLength(1);
    expect(recovery[0]).toMatchObject({
      status: "succeeded",
      event_name: FUNCTION_FAILED,
      event_id: `function-failed:${sync?.id}`,
    });
    const data = recovery[0]?.data as {
      function_id: string;
      run_id: string;
      error: { message: string };
      event: { id: string; name: string; data: Record<string, unknown> };
    };
    expect(data.function_id).toBe(`${rt.deps.appId ?? "ballast"}-sync-source`);
    expect(data.run_id).toBe(sync?.id);
    expect(data.event).toMatchObject({
      id: event.id,
      name: event.name,
      data: { sourceId: source.id, dedupeKey: "failing-sync-1" },
    });
    expect(data.error.message.length).toBeGreaterThan(0);

    // Neither the query's text nor its parameters reach the report.
    expect(data.error.message).toMatch(/^database query failed: .*foreign key/);
    const letters = rowsOf<{
      kind: string;
      function_id: string;
      source_id: string;
      status: string;
    }>(
      await rt.db.execute(
        sql`select kind, function_id, source_id, status from dead_letters where kind = 'event'`,
      ),
    );
    expect(letters).toEqual([
      expect.objectContaining({ kind: "event", function_id: "sync-source", source_id: null }),
    ]);
    const alerts = rowsOf<{ key: string; severity: string; status: string }>(
      await rt.db.execute(sql`select key, severity, status from alerts where rule = 'sync.failed'`),
    );
    expect(alerts).toEqual([
      expect.objectContaining({ key: `sync.failed:${source.id}`, severity: "critical" }),
    ]);

    // The same failure reported again (a restarted runner re-sending) is one job, one entry.
    const before = (await jobs()).length;
    await r.accept([{ id: `function-failed:${sync?.id}`, name: FUNCTION_FAILED, data }]);
    await r.idle();
    expect((await jobs()).length).toBe(before);
    report(
      `embedded function.failed: sync-source failed (${sync?.status}); error-recovery jobs ${recovery.length} (${recovery[0]?.status}); ` +
        `DLQ event entries ${letters.length}; sync.failed alerts ${alerts.length}; jobs after a repeat ${before} → ${(await jobs()).length}`,
    );
  }, 120_000);

  it("does not report error-recovery's own failure (no loop) nor a success", async () => {
    const r = startRunner();
    const before = await jobs();
    // A function.failed for a function that is not Ballast's: error-recovery ignores it and
    // succeeds; nothing further is sent.
    await r.accept([
      {
        id: "foreign-failure-1",
        name: FUNCTION_FAILED,
        data: {
          function_id: "someone-else-fn",
          error: { message: "boom" },
          event: { name: "x/y" },
        },
      },
      // Not valid for error-recovery's schema: its job fails, and no new function.failed follows.
      { id: "broken-failure-1", name: FUNCTION_FAILED, data: { nonsense: true } },
    ]);
    await r.idle();
    const added = (await jobs()).filter((j) => !before.some((b) => b.id === j.id));
    expect(added.map((j) => [j.event_id, j.workflow, j.status]).sort()).toEqual([
      ["broken-failure-1", "error-recovery", "failed"],
      ["foreign-failure-1", "error-recovery", "succeeded"],
    ]);
  }, 60_000);
});
