import { InngestTestEngine } from "@inngest/test";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { GET as tracesGet } from "../../app/api/admin/traces/route";
import { rowsOf } from "../../db/client";
import { traceSpans } from "../../db/schema";
import { processBatchFn } from "../../inngest/functions/process-batch";
import { createApiKey } from "../../lib/auth/api-keys";
import { installPeerAddressStamp, PEER_HEADER } from "../../lib/http/client-address";
import { createRun } from "../../lib/pipeline/runs";
import { addSource } from "../../lib/pipeline/source-records";
import { EmbeddedRunner } from "../../lib/runner";
import { setRuntime } from "../../lib/runtime";
import { isSpanId, isTraceId, traceIdFor } from "../../lib/traces/ids";
import { listTraces, runTimeline } from "../../lib/traces/query";
import { workflows } from "../../lib/workflows";
import { defineWorkflow } from "../../lib/workflows/define";
import { SYNC_REQUESTED } from "../../lib/workflows/events";
import { runInline } from "../../lib/workflows/inline";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { createTestRepo, removeTempDirs, type TestRepo } from "../support/git-repo";
import { expectNoPlanted, PLANTED, plantedError } from "../support/planted-secrets";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

type Handler = (request: Request, context: { params: Promise<never> }) => Promise<Response>;
const noParams = { params: Promise.resolve({} as never) };

function get(path: string, key?: string) {
  const headers: Record<string, string> = { [PEER_HEADER]: "192.0.2.1" };
  if (key) headers.authorization = `Bearer ${key}`;
  return (tracesGet as Handler)(new Request(`http://localhost${path}`, { headers }), noParams);
}

describe("trace envelopes", () => {
  let rt: TestRuntime;
  let repo: TestRepo;
  let viewerKey: string;

  beforeAll(async () => {
    installPeerAddressStamp();
    rt = await createTestRuntime({
      SYNC_BATCH_SIZE: "2",
      GITHUB_WEBHOOK_SECRET: PLANTED.configured,
    });
    setRuntime(rt);
    repo = await createTestRepo();
    await repo.writeMany({
      "README.md": "# Project\n\nContact jane.planted@example.org for access.\n",
      "src/a.ts": "export const a = 1;\n",
      "src/b.ts": "export const b = 2;\n",
    });
    await repo.commit("initial");
    viewerKey = (await createApiKey(rt.db, { name: "viewer", role: "viewer", createdBy: "test" }))
      .key;
  });
  afterAll(async () => {
    setRuntime(undefined);
    await rt.close();
    await removeTempDirs();
  });

  it("records every step of a CLI (inline) sync and its git calls, with OpenTelemetry ids and the run", async () => {
    const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "inline" });
    const run = await syncSourceLocally(rt.deps, {
      sourceId: source.id,
      mode: "full",
      correlationId: "cli:traces-inline-1",
    });
    expect(run.status).toBe("succeeded");
    await rt.tracer.flush();

    const spans = await runTimeline(rt.db, run.id);
    const steps = spans.filter((s) => s.kind === "step");
    const names = steps.map((s) => `${s.function}/${s.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        "sync-source/create-run",
        "sync-source/plan",
        "sync-source/fan-out-batches",
        "process-batch/process-batch",
        "sync-source/complete-run",
        "sync-source/emit-completed",
      ]),
    );
    // Two batches (3 documents, 2 per batch).
    expect(steps.filter((s) => s.name === "process-batch")).toHaveLength(2);
    for (const s of spans) {
      expect(isTraceId(s.traceId)).toBe(true);
      expect(isSpanId(s.spanId)).toBe(true);
      expect(s.traceId).toBe(traceIdFor("cli:traces-inline-1"));
      expect(s.correlationId).toBe("cli:traces-inline-1");
      expect(s.status).toBe("ok");
      expect(s.driver).toBe("inline");
    }
    // The run id is on every span after create-run, and the source on all.
    expect(steps.filter((s) => s.name !== "create-run").every((s) => s.runId === run.id)).toBe(
      true,
    );
    expect(spans.every((s) => s.sourceId === source.id)).toBe(true);
    // External calls are children of the step that made them.
    const git = spans.filter((s) => s.kind === "external" && s.name.startsWith("git."));
    expect(git.length).toBeGreaterThan(0);
    const stepIds = new Set(steps.map((s) => s.spanId));
    expect(git.every((s) => s.parentSpanId && stepIds.has(s.parentSpanId))).toBe(true);
    // Summaries are counts and hashes, never contents.
    const batch = steps.find((s) => s.name === "process-batch");
    expect(batch?.output).toMatchObject({ type: "object", counts: { processed: 2 } });
    const rows = JSON.stringify(await rt.db.select().from(traceSpans));
    expect(rows).not.toContain("Contact jane");
    expect(rows).not.toContain("export const a");
  });

  it("records the attempt, error class and message of a retried step, redacted", async () => {
    let calls = 0;
    const flaky = defineWorkflow({
      id: "flaky-test",
      triggers: [{ event: "test/flaky" }],
      schema: z.object({ correlationId: z.string().optional() }),
      concurrency: [],
      retries: 2,
      async handler({ step }) {
        return step.run("call-upstream", async () => {
          calls++;
          if (calls === 1) throw plantedError();
          return { ok: true, items: 3 };
        });
      },
    });
    const outcome = await runInline(
      flaky,
      { id: "flaky-1", name: "test/flaky", data: { correlationId: "test:flaky-1" } },
      { deps: async () => rt.deps, log: rt.log, workflows: [], sleep: async () => {} },
    );
    expect(outcome.ok).toBe(true);
    await rt.tracer.flush();
    const { traces } = await listTraces(rt.db, { correlation: "test:flaky-1" });
    const attempts = traces
      .filter((t) => t.name === "call-upstream")
      .sort((a, b) => a.attempt - b.attempt);
    expect(attempts.map((t) => [t.attempt, t.status])).toEqual([
      [1, "error"],
      [2, "ok"],
    ]);
    expect(attempts[0]?.errorClass).toBe("UnavailableError:unavailable");
    expect(attempts[0]?.errorMessage).toMatch(/upstream failed for \[REDACTED\]/);
    expect(new Set(attempts.map((t) => t.spanId)).size).toBe(2);
    // Nothing planted survives in any stored row or in the logs.
    const stored = rowsOf(
      await rt.db.execute(sql`select row_to_json(t)::text as j from trace_spans t`),
    );
    expectNoPlanted(stored.map((r) => String((r as { j: string }).j)).join("\n"));
    expectNoPlanted(rt.logLines.join("\n"));
  });

  it("traces the embedded runner's steps (driver embedded)", async () => {
    const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "embedded" });
    const runner = new EmbeddedRunner({
      db: rt.db,
      deps: async () => rt.deps,
      log: rt.log,
      workflows,
      crons: false,
      pollMs: 50,
    });
    runner.start();
    try {
      await runner.accept([
        {
          id: "emb-sync-1",
          name: SYNC_REQUESTED,
          data: {
            sourceId: source.id,
            mode: "full",
            trigger: "admin",
            dedupeKey: "emb-sync-1",
            correlationId: "admin:emb-1",
          },
        },
      ]);
      await runner.idle(60_000);
    } finally {
      await runner.stop();
    }
    await rt.tracer.flush();
    const { traces } = await listTraces(rt.db, { correlation: "admin:emb-1", limit: 500 });
    const steps = traces.filter((t) => t.kind === "step");
    expect(steps.length).toBeGreaterThan(4);
    expect(steps.every((t) => t.driver === "embedded")).toBe(true);
    expect(steps.some((t) => t.function === "process-batch")).toBe(true);
  });

  it("traces Inngest function steps once per step, with Inngest's attempt", async () => {
    const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "inngest" });
    const run = await createRun(rt.db, {
      sourceId: source.id,
      trigger: "admin",
      mode: "full",
      dedupeKey: "inngest-run-1",
      correlationId: "admin:inngest-1",
    });
    const { planRun } = await import("../../lib/pipeline/plan");
    await planRun(rt.deps, run.id);
    const engine = new InngestTestEngine({
      function: processBatchFn,
      events: [
        {
          name: "source/batch.requested",
          data: { runId: run.id, sourceId: source.id, batch: 0, correlationId: "admin:inngest-1" },
        },
      ],
      steps: [{ id: "signal-batches-completed", handler: () => ({ ids: [] }) }],
    });
    const { error } = await engine.execute();
    expect(error).toBeUndefined();
    // The Inngest driver writes each step's envelope before the step returns: no flush needed.
    const { traces } = await listTraces(rt.db, { correlation: "admin:inngest-1", kind: "step" });
    const batch = traces.filter((t) => t.name === "process-batch");
    expect(batch).toHaveLength(1);
    expect(batch[0]).toMatchObject({ driver: "inngest", attempt: 1, runId: run.id, status: "ok" });
  });

  it("GET /api/admin/traces filters, paginates, needs a viewer key and refuses bad input", async () => {
    expect((await get("/api/admin/traces")).status).toBe(401);
    const all = await get("/api/admin/traces?function=sync-source&limit=3", viewerKey);
    expect(all.status).toBe(200);
    const page1 = (await all.json()) as {
      traces: { spanId: string; function: string; startedAt: string }[];
      nextCursor: string | null;
    };
    expect(page1.traces).toHaveLength(3);
    expect(page1.traces.every((t) => t.function === "sync-source")).toBe(true);
    expect(page1.nextCursor).toBeTruthy();
    const page2 = (await (
      await get(
        `/api/admin/traces?function=sync-source&limit=3&cursor=${page1.nextCursor}`,
        viewerKey,
      )
    ).json()) as { traces: { spanId: string; startedAt: string }[] };
    expect(page2.traces.length).toBeGreaterThan(0);
    const seen = new Set(page1.traces.map((t) => t.spanId));
    expect(page2.traces.some((t) => seen.has(t.spanId))).toBe(false);
    expect(Date.parse(page2.traces[0]?.startedAt ?? "")).toBeLessThanOrEqual(
      Date.parse(page1.traces[2]?.startedAt ?? ""),
    );

    const errors = (await (await get("/api/admin/traces?status=error", viewerKey)).json()) as {
      traces: { status: string }[];
    };
    expect(errors.traces.length).toBeGreaterThan(0);
    expect(errors.traces.every((t) => t.status === "error")).toBe(true);
    expectNoPlanted(JSON.stringify(errors));

    const bySource = (await (
      await get("/api/admin/traces?source=inline&limit=500", viewerKey)
    ).json()) as {
      traces: { sourceId: string }[];
    };
    expect(bySource.traces.length).toBeGreaterThan(0);
    expect(new Set(bySource.traces.map((t) => t.sourceId)).size).toBe(1);

    const future = (await (
      await get("/api/admin/traces?from=2999-01-01T00:00:00Z", viewerKey)
    ).json()) as { traces: unknown[] };
    expect(future.traces).toEqual([]);

    for (const bad of [
      "status=maybe",
      "limit=0",
      "limit=100000",
      "run=not-a-uuid",
      "from=yesterday",
      "cursor=%27%3B%20drop%20table",
      "cursor=AAAA",
      "correlation=%3Cscript%3E",
      "function=Robert');DROP",
      "unknown=1",
      "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
    ]) {
      const response = await get(`/api/admin/traces?${bad}`, viewerKey);
      expect(response.status, bad).toBe(422);
      const text = await response.text();
      expect(text).not.toMatch(/select|trace_spans|at .*\.ts/i);
    }
  });
});
