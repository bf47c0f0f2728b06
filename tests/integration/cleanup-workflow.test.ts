import { InngestTestEngine } from "@inngest/test";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as approvePost } from "../../app/api/admin/cleanup/[runId]/approve/route";
import { POST as rejectPost } from "../../app/api/admin/cleanup/[runId]/reject/route";
import { GET as cleanupGet } from "../../app/api/admin/cleanup/[runId]/route";
import { rowsOf } from "../../db/client";
import {
  alerts,
  auditLog,
  cleanupRuns,
  documents,
  outboxEvents,
  sources,
  syncRuns,
  webhookDeliveries,
} from "../../db/schema";
import { cleanup } from "../../inngest/functions/cleanup";
import { S3ArchiveStore } from "../../lib/archive";
import { createApiKey } from "../../lib/auth/api-keys";
import { installPeerAddressStamp, PEER_HEADER } from "../../lib/http/client-address";
import type { PipelineDeps } from "../../lib/pipeline/deps";
import { createRun } from "../../lib/pipeline/runs";
import { addSource } from "../../lib/pipeline/source-records";
import { countDay } from "../../lib/retention/archive";
import { type CleanupRun, getCleanupRun, listCleanupRuns } from "../../lib/retention/cleanup";
import { TRACE_DATASET } from "../../lib/retention/datasets";
import { startWorkflowRunner, stopWorkflowRunner } from "../../lib/runner";
import { setRuntime } from "../../lib/runtime";
import { randomSpanId } from "../../lib/traces/ids";
import { listTraces } from "../../lib/traces/query";
import { workflows } from "../../lib/workflows";
import { cleanupWorkflow } from "../../lib/workflows/cleanup";
import { requestedEventName } from "../../lib/workflows/events";
import { runInline } from "../../lib/workflows/inline";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { createTestRepo, removeTempDirs, type TestRepo } from "../support/git-repo";
import { createTestRuntime, type TestRuntime } from "../support/runtime";
import { startS3Server } from "../support/s3-server";

type Handler = (
  request: Request,
  context: { params: Promise<{ runId: string }> },
) => Promise<Response>;

function call(
  handler: unknown,
  runId: string,
  init: { key?: string; body?: unknown; method?: string } = {},
) {
  const headers: Record<string, string> = {
    [PEER_HEADER]: "192.0.2.1",
    "content-type": "application/json",
  };
  if (init.key) headers.authorization = `Bearer ${init.key}`;
  return (handler as Handler)(
    new Request(`http://localhost/api/admin/cleanup/${runId}`, {
      method: init.method ?? "POST",
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    }),
    { params: Promise.resolve({ runId }) },
  );
}

const DAY_MS = 86_400_000;

describe("the cleanup workflow", () => {
  let rt: TestRuntime;
  let repo: TestRepo;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    installPeerAddressStamp();
    rt = await createTestRuntime({ SYNC_BATCH_SIZE: "10" });
    setRuntime(rt);
    repo = await createTestRepo();
    await repo.writeMany({
      "README.md": "# Project\n\nHow to deploy.\n",
      "src/a.ts": "export const a = 1;\n",
      "src/b.ts": "export const b = 2;\n",
      "generated/big.ts": "export const big = 3;\n",
    });
    await repo.commit("initial");
    for (const role of ["viewer", "operator", "admin"])
      keys[role] = (
        await createApiKey(rt.db, { name: `${role}-key`, role, createdBy: "test" })
      ).key;
  });
  afterAll(async () => {
    await stopWorkflowRunner();
    setRuntime(undefined);
    await rt.close();
    await removeTempDirs();
  });

  /** Debris of every kind the cleanup handles, `now` being the tick. */
  async function debris(now: Date, name: string) {
    const source = await addSource(rt.db, { kind: "git", location: repo.dir, name });
    const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
    expect(run.processed).toBe(4);
    // The filters change: generated/ is excluded now, its document is debris.
    await rt.db
      .update(sources)
      .set({ exclude: ["generated/**"] })
      .where(eq(sources.id, source.id));
    // A run whose process died: running, last heartbeat 7 hours ago.
    const stuck = await createRun(rt.db, {
      sourceId: source.id,
      trigger: "cli",
      mode: "full",
      dedupeKey: `${name}-stuck`,
    });
    await rt.db
      .update(syncRuns)
      .set({
        status: "running",
        startedAt: new Date(now.getTime() - 8 * 3_600_000),
        heartbeatAt: new Date(now.getTime() - 7 * 3_600_000),
      })
      .where(eq(syncRuns.id, stuck.id));
    // Trace rows 40 days old, an outbox event sent 10 days ago, a webhook delivery 40 days old.
    const old = new Date(now.getTime() - 40 * DAY_MS);
    for (let i = 0; i < 20; i++)
      rt.tracer.record({
        spanId: randomSpanId(),
        traceId: "1".repeat(32),
        parentSpanId: null,
        correlationId: `${name}:old`,
        kind: "step",
        name: "old-step",
        function: "sync-source",
        driver: "inline",
        runId: null,
        sourceId: null,
        eventId: null,
        attempt: 1,
        status: "ok",
        errorClass: null,
        errorMessage: null,
        startedAt: new Date(old.getTime() + i * 1000),
        endedAt: new Date(old.getTime() + i * 1000 + 5),
        durationMs: 5,
        input: null,
        output: null,
        attributes: {},
      });
    await rt.tracer.flush();
    await rt.db.insert(outboxEvents).values({
      id: `${name}-sent`,
      name: "source/sync.requested",
      data: {},
      status: "sent",
      createdAt: new Date(now.getTime() - 10 * DAY_MS),
      sentAt: new Date(now.getTime() - 10 * DAY_MS),
    });
    await rt.db.insert(outboxEvents).values({
      id: `${name}-pending`,
      name: "source/sync.requested",
      data: {},
      status: "pending",
      createdAt: new Date(now.getTime() - 10 * DAY_MS),
    });
    await rt.db.insert(webhookDeliveries).values({
      deliveryId: `${name}-delivery`,
      event: "push",
      outcome: "accepted",
      bodySha256: "0".repeat(64),
      payload: { ref: "refs/heads/main" },
      receivedAt: old,
    });
    return { source, stuck, old };
  }

  const request = (id: string, at: Date) => ({
    id,
    name: requestedEventName("cleanup"),
    data: { at: at.toISOString(), requestedBy: "test", correlationId: `test:${id}` },
  });

  const lenient = (deps: PipelineDeps): PipelineDeps => ({
    ...deps,
    retention: {
      traces: (deps.retention as NonNullable<PipelineDeps["retention"]>).traces,
      cleanup: {
        ...(deps.retention as NonNullable<PipelineDeps["retention"]>).cleanup,
        approvalFraction: 1,
        approvalRows: 1_000_000,
      },
    },
  });

  it("runs as an Inngest function (on request) and records its run", async () => {
    const engine = new InngestTestEngine({
      function: cleanup,
      events: [request("inngest-cleanup-1", new Date())],
    });
    const { result, error } = await engine.execute();
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ status: "succeeded" });
    const [run] = await rt.db
      .select()
      .from(cleanupRuns)
      .where(eq(cleanupRuns.dedupeKey, "inngest-cleanup-1"));
    expect(run).toMatchObject({ status: "succeeded", trigger: "request", requestedBy: "test" });
    const { traces } = await listTraces(rt.db, { run: run?.id, function: "cleanup" });
    expect(traces.every((t) => t.driver === "inngest")).toBe(true);
    expect(traces.map((t) => t.name)).toContain("maintain-database");
  });

  it("cleans every kind, archives before deleting, and records the run with counts per kind", async () => {
    const now = new Date();
    const { source, stuck, old } = await debris(now, "all-kinds");
    const oldDay = old.toISOString().slice(0, 10);
    const outcome = await runInline(cleanupWorkflow, request("cleanup-all", now), {
      deps: async () => lenient(rt.deps),
      log: rt.log,
      workflows,
      sleep: async () => {},
    });
    if (!outcome.ok) throw outcome.error;
    const [run] = (await listCleanupRuns(rt.db, 1)) as CleanupRun[];
    expect(run?.status).toBe("succeeded");
    expect(run?.counts).toMatchObject({
      stuckRuns: 1,
      excludedDocuments: 1,
      "trace_spans.archivedRows": 20,
      "trace_spans.deletedRows": 20,
      "outbox_events.archivedRows": 1,
      "webhook_deliveries.archivedRows": 1,
    });
    expect((run?.counts.excludedChunks ?? 0) > 0).toBe(true);
    const [failed] = await rt.db.select().from(syncRuns).where(eq(syncRuns.id, stuck.id));
    expect(failed?.status).toBe("failed");
    expect(failed?.error).toMatch(/failed by the cleanup: still running with no heartbeat/);
    const docs = await rt.db.select().from(documents).where(eq(documents.sourceId, source.id));
    expect(docs.map((d) => d.path).sort()).toEqual(["README.md", "src/a.ts", "src/b.ts"]);
    expect(await countDay(rt.db, TRACE_DATASET, oldDay)).toBe(0);
    // Archived, not just deleted: the day is in the store; the pending outbox event stays.
    const keys: string[] = [];
    for await (const info of rt.archive.list("")) keys.push(info.key);
    expect(keys).toEqual(
      expect.arrayContaining([
        `traces/${oldDay}/part-0001.manifest.json`,
        `webhooks/${oldDay}/part-0001.jsonl.gz`,
        expect.stringMatching(/^outbox\/.*part-0001\.jsonl\.gz$/),
      ]),
    );
    const outbox = await rt.db.select().from(outboxEvents);
    expect(outbox.map((e) => e.id)).toContain("all-kinds-pending");
    expect(outbox.map((e) => e.id)).not.toContain("all-kinds-sent");
    // The run's steps are traced under its id.
    await rt.tracer.flush();
    const { traces } = await listTraces(rt.db, { run: run?.id, limit: 500 });
    expect(traces.map((t) => t.name)).toEqual(
      expect.arrayContaining([
        "fail-stuck-runs",
        "delete-excluded-documents",
        `archive-trace_spans-${oldDay}`,
        "maintain-database",
        "finish",
      ]),
    );
    expect(traces.some((t) => t.kind === "external" && t.name === "archive.put")).toBe(true);
  });

  it("fails the run with the reason when the archive store (s3rver) is down, deleting none of its rows", async () => {
    const now = new Date();
    const { old } = await debris(now, "store-down");
    const s3 = await startS3Server();
    const store = new S3ArchiveStore({
      bucket: s3.bucket,
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      prefix: "",
      maxAttempts: 1,
    });
    await store.ping();
    await s3.close();
    const outcome = await runInline(cleanupWorkflow, request("cleanup-down", now), {
      deps: async () => ({ ...lenient(rt.deps), archive: store }),
      log: rt.log,
      workflows,
      sleep: async () => {},
    });
    expect(outcome.ok).toBe(false);
    const [run] = await rt.db
      .select()
      .from(cleanupRuns)
      .where(eq(cleanupRuns.dedupeKey, "cleanup-down"));
    expect(run?.status).toBe("failed");
    expect(run?.error).toMatch(/archive store|cannot reach/);
    expect(run?.error).not.toContain(s3.secretAccessKey);
    expect(await countDay(rt.db, TRACE_DATASET, old.toISOString().slice(0, 10))).toBe(20);
    store.destroy();
  });

  async function awaitingRun(name: string): Promise<CleanupRun> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [run] = await rt.db.select().from(cleanupRuns).where(eq(cleanupRuns.dedupeKey, name));
      if (run?.status === "awaiting_approval") return run;
      if (Date.now() > deadline) throw new Error(`run ${name} is ${run?.status ?? "missing"}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it("waits for an operator's approval above the threshold; shows the plan; approve needs admin and a reason", async () => {
    const now = new Date();
    await debris(now, "approve-me");
    await startWorkflowRunner(rt, { crons: false, pollMs: 50 });
    await rt.db
      .insert(outboxEvents)
      .values({ ...request("cleanup-approve", now), status: "pending" });
    const { dispatchOutbox } = await import("../../lib/outbox/outbox");
    const { sendEvents } = await import("../../inngest/send");
    await dispatchOutbox(rt.db, sendEvents, { ids: ["cleanup-approve"] });
    const waiting = await awaitingRun("cleanup-approve");
    expect(waiting.approvalRequired).toMatch(/chunks of source approve-me/);
    // Nothing was deleted yet.
    expect(
      await rt.db.select().from(outboxEvents).where(eq(outboxEvents.id, "approve-me-sent")),
    ).toHaveLength(1);

    const shown = await call(cleanupGet, waiting.id, { key: keys.viewer, method: "GET" });
    expect(shown.status).toBe(200);
    const view = (await shown.json()) as {
      run: { plan: { excludedDocuments: { documents: number }[] } };
    };
    expect(view.run.plan.excludedDocuments[0]?.documents).toBe(1);

    expect((await call(approvePost, waiting.id, { body: { reason: "checked" } })).status).toBe(401);
    expect(
      (await call(approvePost, waiting.id, { key: keys.operator, body: { reason: "checked" } }))
        .status,
    ).toBe(403);
    expect((await call(approvePost, waiting.id, { key: keys.admin, body: {} })).status).toBe(422);
    expect(
      (await call(approvePost, waiting.id, { key: keys.admin, body: { reason: " " } })).status,
    ).toBe(422);
    expect(
      (await call(approvePost, "not-a-uuid", { key: keys.admin, body: { reason: "checked it" } }))
        .status,
    ).toBe(422);
    expect(
      (
        await call(approvePost, "00000000-0000-4000-8000-000000000000", {
          key: keys.admin,
          body: { reason: "checked it" },
        })
      ).status,
    ).toBe(404);
    const approved = await call(approvePost, waiting.id, {
      key: keys.admin,
      body: { reason: "the filter change was intended" },
    });
    expect(approved.status).toBe(200);
    expect(
      (await call(approvePost, waiting.id, { key: keys.admin, body: { reason: "again" } })).status,
    ).toBe(422);

    const deadline = Date.now() + 60_000;
    let run = await getCleanupRun(rt.db, waiting.id);
    while (run.status !== "succeeded" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      run = await getCleanupRun(rt.db, waiting.id);
    }
    expect(run).toMatchObject({ status: "succeeded", decision: "approve", decidedBy: "admin-key" });
    expect(run.counts.excludedDocuments).toBe(1);
    const audit = await rt.db.select().from(auditLog).where(eq(auditLog.action, "cleanup.approve"));
    expect(
      audit.some(
        (a) =>
          a.result === "ok" && JSON.stringify(a.details).includes("the filter change was intended"),
      ),
    ).toBe(true);
    expect(audit.some((a) => a.result === "denied")).toBe(true);
  });

  it("a rejected cleanup deletes nothing", async () => {
    const now = new Date();
    const { source } = await debris(now, "reject-me");
    await startWorkflowRunner(rt, { crons: false, pollMs: 50 });
    const { dispatchOutbox } = await import("../../lib/outbox/outbox");
    const { sendEvents } = await import("../../inngest/send");
    await rt.db
      .insert(outboxEvents)
      .values({ ...request("cleanup-reject", now), status: "pending" });
    await dispatchOutbox(rt.db, sendEvents, { ids: ["cleanup-reject"] });
    const waiting = await awaitingRun("cleanup-reject");
    const rejected = await call(rejectPost, waiting.id, {
      key: keys.admin,
      body: { reason: "generated/ must stay indexed" },
    });
    expect(rejected.status).toBe(200);
    const deadline = Date.now() + 60_000;
    let run = await getCleanupRun(rt.db, waiting.id);
    while (run.status === "awaiting_approval" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      run = await getCleanupRun(rt.db, waiting.id);
    }
    expect(run.status).toBe("rejected");
    expect(run.error).toMatch(
      /rejected by admin-key: generated\/ must stay indexed; nothing was deleted/,
    );
    const docs = await rt.db.select().from(documents).where(eq(documents.sourceId, source.id));
    expect(docs).toHaveLength(4);
    expect(
      await rt.db.select().from(outboxEvents).where(eq(outboxEvents.id, "reject-me-sent")),
    ).toHaveLength(1);
  });

  it("aborts after the approval timeout and raises an alert record", async () => {
    await stopWorkflowRunner();
    const now = new Date();
    await debris(now, "nobody-decides");
    const short = (deps: PipelineDeps): PipelineDeps => ({
      ...deps,
      retention: {
        traces: (deps.retention as NonNullable<PipelineDeps["retention"]>).traces,
        cleanup: {
          ...(deps.retention as NonNullable<PipelineDeps["retention"]>).cleanup,
          approvalTimeoutHours: 1 / 3600,
        },
      },
    });
    await startWorkflowRunner(rt, { crons: false, pollMs: 50, deps: async () => short(rt.deps) });
    const { dispatchOutbox } = await import("../../lib/outbox/outbox");
    const { sendEvents } = await import("../../inngest/send");
    await rt.db
      .insert(outboxEvents)
      .values({ ...request("cleanup-timeout", now), status: "pending" });
    await dispatchOutbox(rt.db, sendEvents, { ids: ["cleanup-timeout"] });
    const deadline = Date.now() + 60_000;
    let run: CleanupRun | undefined;
    do {
      await new Promise((r) => setTimeout(r, 200));
      [run] = await rt.db
        .select()
        .from(cleanupRuns)
        .where(eq(cleanupRuns.dedupeKey, "cleanup-timeout"));
    } while (run?.status !== "aborted" && Date.now() < deadline);
    expect(run?.status).toBe("aborted");
    expect(run?.error).toMatch(/no operator approved or rejected it within/);
    const [alert] = await rt.db
      .select()
      .from(alerts)
      .where(eq(alerts.key, `cleanup.approval-timeout:${run?.id}`));
    expect(alert).toMatchObject({
      rule: "cleanup.approval-timeout",
      status: "firing",
      correlationId: "test:cleanup-timeout",
    });
    const pending = rowsOf<{ n: number }>(
      await rt.db.execute(
        sql`select count(*)::int as n from outbox_events where id = 'nobody-decides-sent'`,
      ),
    );
    expect(pending[0]?.n).toBe(1);
  });
});
