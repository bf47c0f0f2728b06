/**
 * What a replay from the Inngest dashboard does to each Ballast function: it runs the function
 * again, from scratch (no memoised steps), with the finished run's event. Every function must
 * then change nothing: no new row in any table and no embedding request. Here each function
 * runs once through @inngest/test, then each finished run's event is replayed through a fresh
 * engine (what the dashboard does), with the embedder pointed at a loopback OpenAI whose
 * requests are counted.
 */
import { InngestTestEngine } from "@inngest/test";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../../db/client";
import { flushOutbox } from "../../inngest/functions/flush-outbox";
import { processBatchFn } from "../../inngest/functions/process-batch";
import { replay } from "../../inngest/functions/replay";
import { scheduleSyncs } from "../../inngest/functions/schedule-syncs";
import { syncSource } from "../../inngest/functions/sync-source";
import { enqueueEvents } from "../../lib/outbox/outbox";
import { listRuns } from "../../lib/pipeline/runs";
import { addSource, type SourceRecord } from "../../lib/pipeline/source-records";
import { setRuntime } from "../../lib/runtime";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fake-openai";
import { createTestRepo, removeTempDirs, type TestRepo } from "../support/git-repo";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

const API_KEY = "sk-dashboard-replay-key-000000000001";
const sent = (...ids: string[]) =>
  ids.map((id) => ({ id, handler: () => ({ ids: [] as string[] }) }));

type AnyFunction =
  | typeof replay
  | typeof syncSource
  | typeof processBatchFn
  | typeof scheduleSyncs
  | typeof flushOutbox;
type StepMock = { id: string; handler: () => unknown };
interface Finished {
  name: string;
  fn: AnyFunction;
  event: { name: string; data: Record<string, unknown>; id?: string; ts?: number };
  steps: StepMock[];
}

/** Trace spans of external calls other than archive-store reads (provider, GitHub, git). */
async function externalSpans(rt: TestRuntime): Promise<number> {
  const [row] = rowsOf<{ n: number }>(
    await rt.db.execute(
      sql`select count(*)::int as n from trace_spans where kind = 'external' and name not in ('archive.head', 'archive.get')`,
    ),
  );
  return Number(row?.n ?? 0);
}

/** Rows in every table of the database. */
async function rowCounts(rt: TestRuntime): Promise<Record<string, number>> {
  const tables = rowsOf<{ table_name: string }>(
    await rt.db.execute(
      sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`,
    ),
  ).map((t) => t.table_name);
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const [row] = rowsOf<{ n: number }>(
      await rt.db.execute(sql`select count(*)::int as n from ${sql.identifier(table)}`),
    );
    counts[table] = Number(row?.n ?? 0);
  }
  return counts;
}

async function execute(fn: AnyFunction, event: Finished["event"], steps: Finished["steps"]) {
  const engine = new InngestTestEngine({
    function: fn as typeof syncSource,
    events: [event as never],
    steps,
  });
  const { error, result } = await engine.execute();
  if (error) throw error;
  return result;
}

describe("Inngest dashboard replays change nothing", () => {
  let rt: TestRuntime;
  let openai: FakeOpenAI;
  let repo: TestRepo;
  let source: SourceRecord;
  const finished: Finished[] = [];

  beforeAll(async () => {
    openai = await startFakeOpenAI({ apiKey: API_KEY });
    rt = await createTestRuntime({
      SYNC_BATCH_SIZE: "2",
      EMBEDDING_PROVIDER: "openai",
      EMBEDDING_DIMENSIONS: "64",
      OPENAI_API_KEY: API_KEY,
      OPENAI_BASE_URL: openai.baseUrl,
    });
    setRuntime(rt);
    repo = await createTestRepo();
    await repo.writeMany({
      "README.md": "# Project\n\nHow to deploy the service.\n",
      "src/a.ts": "export const a = 1;\n",
      "src/b.ts": "export function b() {\n  return 2;\n}\n",
      "docs/d.md": "# D\n\n## Part\n\nText about d.\n",
    });
    await repo.commit("initial");
    source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "dash" });

    // sync-source, with its batches run by the real process-batch function as Inngest would.
    const syncEvent = {
      id: "dash-sync-1",
      name: "source/sync.requested",
      data: { sourceId: source.id, mode: "full", trigger: "admin", dedupeKey: "dash-sync-1" },
    };
    const batchEvents: Finished["event"][] = [];
    await execute(syncSource, syncEvent, [
      {
        id: "fan-out-batches",
        handler: async () => {
          const [latest] = await listRuns(rt.db, { sourceId: source.id, limit: 1 });
          const run = latest?.run;
          if (!run) throw new Error("no run");
          for (let batch = 0; batch < run.batchesTotal; batch++) {
            const event = {
              id: `${run.id}:batch:${batch}`,
              name: "source/batch.requested",
              data: { runId: run.id, sourceId: source.id, batch },
            };
            await execute(processBatchFn, event, sent("signal-batches-completed"));
            batchEvents.push(event);
          }
          return { ids: [] };
        },
      },
      ...sent("emit-completed"),
    ]);
    finished.push({
      name: "sync-source",
      fn: syncSource,
      event: syncEvent,
      steps: sent("fan-out-batches", "emit-completed"),
    });
    for (const event of batchEvents)
      finished.push({
        name: "process-batch",
        fn: processBatchFn,
        event,
        steps: sent("signal-batches-completed"),
      });

    const tick = {
      id: "dash-tick-1",
      name: "workflow/schedule-syncs.requested",
      data: { at: "2026-12-01T06:00:00.000Z" },
    };
    await execute(scheduleSyncs, tick, sent("request-syncs"));
    finished.push({
      name: "schedule-syncs",
      fn: scheduleSyncs,
      event: tick,
      steps: sent("request-syncs"),
    });

    await enqueueEvents(rt.db, [
      { id: "dash-outbox-1", name: "source/sync.requested", data: { sourceId: source.id } },
    ]);
    const flush = { id: "dash-flush-1", name: "workflow/flush-outbox.requested", data: {} };
    await execute(flushOutbox, flush, []);
    finished.push({ name: "flush-outbox", fn: flushOutbox, event: flush, steps: [] });

    // The nightly replay: its sandbox embeds locally, so even its first run calls no provider.
    const requestsBeforeReplay = openai.requests.length;
    const nightly = {
      id: "dash-replay-1",
      name: "workflow/replay.requested",
      data: { at: new Date(Date.now() + 60_000).toISOString() },
    };
    const outcome = (await execute(replay, nightly, [])) as { events: number; gatePassed: boolean };
    expect(outcome.events).toBe(1);
    expect(outcome.gatePassed).toBe(true);
    expect(openai.requests.length).toBe(requestsBeforeReplay);
    finished.push({ name: "replay", fn: replay, event: nightly, steps: [] });
  }, 240_000);

  afterAll(async () => {
    setRuntime(undefined);
    await rt.close();
    await openai.close();
    await removeTempDirs();
  });

  it("ran every function once, embedding through the provider", () => {
    expect(finished.map((f) => f.name)).toEqual(
      expect.arrayContaining([
        "sync-source",
        "process-batch",
        "schedule-syncs",
        "flush-outbox",
        "replay",
      ]),
    );
    expect(openai.requests.length).toBeGreaterThan(0);
  });

  for (const name of ["sync-source", "process-batch", "schedule-syncs", "flush-outbox", "replay"]) {
    it(`a dashboard replay of ${name} creates no row and calls no embedding API`, async () => {
      const runs = finished.filter((f) => f.name === name);
      expect(runs.length).toBeGreaterThan(0);
      // Spans of the recorded runs are buffered: written before the replay is measured.
      await rt.tracer.flush();
      const before = await rowCounts(rt);
      const externalBefore = await externalSpans(rt);
      const requests = openai.requests.length;
      for (const run of runs) await execute(run.fn, run.event, run.steps);
      await rt.tracer.flush();
      const after = await rowCounts(rt);
      // A replay is a new execution, and tracing records what it did: spans are the only rows it
      // may add, and none of them is a provider call. (The replay function's replay reads the
      // archive store once — a HEAD, no write.)
      const { trace_spans: spansAfter = 0, ...state } = after;
      const { trace_spans: spansBefore = 0, ...stateBefore } = before;
      expect(state).toEqual(stateBefore);
      expect(spansAfter).toBeGreaterThanOrEqual(spansBefore);
      expect(await externalSpans(rt)).toBe(externalBefore);
      expect(openai.requests.length).toBe(requests);
      expect(before.ledger_entries).toBeGreaterThan(0);
    });
  }
});
