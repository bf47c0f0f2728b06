import { sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../../db/client";
import { workflowJobs } from "../../db/schema";
import { enqueueEvents } from "../../lib/outbox/outbox";
import { requestSync } from "../../lib/pipeline/request-sync";
import { getRun, listRuns } from "../../lib/pipeline/runs";
import { addSource, type SourceRecord } from "../../lib/pipeline/source-records";
import { EmbeddedRunner } from "../../lib/runner/embedded-runner";
import { workflows } from "../../lib/workflows";
import { createTestRepo, removeTempDirs, type TestRepo } from "../support/git-repo";
import { freshFullSyncSnapshot, snapshotIndex } from "../support/index-snapshot";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

/**
 * The embedded runner (the app on the embedded defaults, no Inngest server): events from the
 * outbox become jobs, jobs run the same workflows Inngest runs, the same event twice is one
 * job, crons fire for an injected tick, and a job whose process died is taken over.
 */
describe("the embedded workflow runner", () => {
  let rt: TestRuntime;
  let repo: TestRepo;
  let source: SourceRecord;
  let runner: EmbeddedRunner | undefined;

  const startRunner = (extra: Partial<ConstructorParameters<typeof EmbeddedRunner>[0]> = {}) => {
    runner = new EmbeddedRunner({
      db: rt.db,
      deps: async () => rt.deps,
      log: rt.log,
      workflows,
      crons: false,
      pollMs: 50,
      ...extra,
    });
    runner.start();
    return runner;
  };

  beforeAll(async () => {
    rt = await createTestRuntime({ SYNC_BATCH_SIZE: "2" });
    repo = await createTestRepo();
    await repo.writeMany({
      "README.md": "# Runner\n\nThe embedded runner executes workflows.\n",
      "src/a.ts": "export const a = 1;\n",
      "src/b.ts": "export function b() {\n  return 2;\n}\n",
      "docs/c.md": "# C\n\nText about c.\n",
      "docs/d.md": "# D\n\nText about d.\n",
    });
    await repo.commit("initial");
    source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "runner-demo" });
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
    rowsOf<{ workflow: string; status: string; event_id: string; attempts: number }>(
      await rt.db.execute(
        sql`select workflow, status, event_id, attempts from ${workflowJobs} order by created_at`,
      ),
    );

  it("runs a requested sync end to end: sync-source, its batches, completion", async () => {
    const r = startRunner();
    const { run, event } = await requestSync(rt.db, {
      sourceId: source.id,
      mode: "incremental",
      trigger: "admin",
      dedupeKey: "runner-sync-1",
    });
    await r.accept([event]);
    await r.idle();
    const done = await getRun(rt.db, run.id);
    expect(done.status).toBe("succeeded");
    expect(done.processed).toBe(5);
    expect(done.correlationId).toBe("runner-sync-1");
    const byWorkflow = (await jobs()).reduce<Record<string, string[]>>((acc, j) => {
      acc[j.workflow] = [...(acc[j.workflow] ?? []), j.status];
      return acc;
    }, {});
    expect(byWorkflow["sync-source"]).toEqual(["succeeded"]);
    expect(byWorkflow["process-batch"]).toEqual(["succeeded", "succeeded", "succeeded"]);
    expect(await snapshotIndex(rt.db, source.id)).toEqual(
      await freshFullSyncSnapshot(rt, repo.dir),
    );
  });

  it("treats the same event twice, and a finished run's event replayed, as nothing new", async () => {
    const r = startRunner();
    const before = {
      jobs: (await jobs()).length,
      runs: (await listRuns(rt.db, { limit: 100 })).length,
    };
    const snapshot = await snapshotIndex(rt.db, source.id);
    const replay = {
      id: "runner-sync-1",
      name: "source/sync.requested",
      data: {
        sourceId: source.id,
        mode: "incremental",
        trigger: "admin",
        dedupeKey: "runner-sync-1",
        correlationId: "runner-sync-1",
      },
    };
    await r.accept([replay]);
    await r.accept([replay]);
    // Replayed under a new event id (as a dashboard replay would): the run is the same.
    await r.accept([{ ...replay, id: "runner-sync-1-replayed" }]);
    await r.idle();
    expect((await jobs()).length).toBe(before.jobs + 1);
    expect((await listRuns(rt.db, { limit: 100 })).length).toBe(before.runs);
    expect(await snapshotIndex(rt.db, source.id)).toEqual(snapshot);
  });

  it("picks up events recorded while it was not running (the outbox)", async () => {
    await repo.write("src/e.ts", "export const e = 5;\n");
    await repo.commit("add e");
    const { run } = await requestSync(rt.db, {
      sourceId: source.id,
      mode: "incremental",
      trigger: "cli",
      dedupeKey: "runner-outbox-1",
    });
    const r = startRunner();
    await r.idle();
    const done = await getRun(rt.db, run.id);
    expect(done.status).toBe("succeeded");
    expect(done.processed).toBe(1);
    const outbox = rowsOf<{ status: string }>(
      await rt.db.execute(sql`select status from outbox_events where id = 'runner-outbox-1'`),
    );
    expect(outbox).toEqual([{ status: "sent" }]);
  });

  it("fires a cron for an injected tick: schedule-syncs queues every idle source once", async () => {
    const other = await addSource(rt.db, { kind: "git", location: repo.dir, name: "runner-other" });
    const r = startRunner();
    const tick = new Date("2026-12-02T12:00:00Z");
    await r.fireCron("schedule-syncs", tick);
    await r.fireCron("schedule-syncs", tick); // the same tick twice: one job
    await r.idle();
    const scheduled = (await jobs()).filter((j) => j.workflow === "schedule-syncs");
    expect(scheduled).toEqual([
      expect.objectContaining({
        status: "succeeded",
        event_id: `cron:schedule-syncs:${tick.toISOString()}`,
      }),
    ]);
    for (const s of [source, other]) {
      const runs = (await listRuns(rt.db, { sourceId: s.id, limit: 10 })).filter(
        (x) => x.run.trigger === "schedule",
      );
      expect(runs, s.name).toHaveLength(1);
      expect(runs[0]?.run.dedupeKey).toBe(`schedule:${tick.toISOString()}:${s.id}`);
      expect(runs[0]?.run.correlationId).toBe(`cron:schedule-syncs:${tick.toISOString()}`);
    }
    await expect(r.fireCron("sync-source", tick)).rejects.toThrow(/not a scheduled workflow/);
  });

  it("takes over a job whose runner died mid-run, and finishes it", async () => {
    await repo.write("src/f.ts", "export const f = 6;\n");
    await repo.commit("add f");
    const { run, event } = await requestSync(rt.db, {
      sourceId: source.id,
      mode: "incremental",
      trigger: "admin",
      dedupeKey: "runner-crash-1",
      outbox: false,
    });
    await enqueueEvents(rt.db, [event]);
    // Another runner leased the job and died: its lease ran out a minute ago.
    await rt.db.insert(workflowJobs).values({
      eventId: event.id,
      eventName: event.name,
      workflow: "sync-source",
      data: event.data,
      status: "running",
      attempts: 1,
      leasedBy: "dead-runner",
      leaseUntil: new Date(Date.now() - 60_000),
    });
    await rt.db.execute(sql`update outbox_events set status = 'sent' where id = ${event.id}`);
    const r = startRunner();
    await r.idle();
    expect((await getRun(rt.db, run.id)).status).toBe("succeeded");
    const [job] = rowsOf<{ attempts: number; status: string }>(
      await rt.db.execute(
        sql`select attempts, status from ${workflowJobs} where event_id = ${event.id} and workflow = 'sync-source'`,
      ),
    );
    expect(job).toEqual({ attempts: 2, status: "succeeded" });
  });

  it("fails a job whose event data is invalid, once, without touching the database", async () => {
    const r = startRunner();
    const runsBefore = (await listRuns(rt.db, { limit: 100 })).length;
    await r.accept([
      { id: "bad-event-1", name: "source/sync.requested", data: { sourceId: "x", mode: "full" } },
    ]);
    await r.idle();
    const [job] = rowsOf<{ status: string; attempts: number; last_error: string }>(
      await rt.db.execute(
        sql`select status, attempts, last_error from ${workflowJobs} where event_id = 'bad-event-1'`,
      ),
    );
    expect(job).toMatchObject({ status: "failed", attempts: 1 });
    expect(job?.last_error).toMatch(/does not match the data schema of sync-source/);
    expect((await listRuns(rt.db, { limit: 100 })).length).toBe(runsBefore);
  });
});
