import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../../db/client";
import { createEmbeddingProvider } from "../../lib/embedding";
import { errorMessage } from "../../lib/errors";
import { ProviderBudget } from "../../lib/limits/budget";
import { addSource } from "../../lib/pipeline/source-records";
import { createRedisStore, MemoryKeyspace, type RedisStore } from "../../lib/redis";
import { workflows } from "../../lib/workflows";
import { runInline } from "../../lib/workflows/inline";
import { recoverLocally } from "../../lib/workflows/recover-now";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { syncSourceWorkflow } from "../../lib/workflows/sync-source";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fake-openai";
import { createTestRepo, removeTempDirs, type TestRepo } from "../support/git-repo";
import { snapshotIndex } from "../support/index-snapshot";
import { type RedisServer, redisServerBinary, startRedisServer } from "../support/redis-server";
import { createTestRuntime, type TestRuntime } from "../support/runtime";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge";

const KEY = "sk-test-fault-injection-0000000000000001";
const OPEN_MS = 400;
/** The in-process store's keyspace, shared by the four "instances" of the budget test. */
const keyspace = new MemoryKeyspace();

/**
 * Faults injected at the network edge (a loopback provider that errors, stalls, refuses with
 * 429 or is down), against the real pipeline on PGlite. Every test prints the counts it saw.
 */
/** The counts each fault test observed, for the closing note (vitest shows stdout). */
const report = (line: string) => process.stdout.write(`${line}\n`);

describe("fault injection", () => {
  let repo: TestRepo;
  let openai: FakeOpenAI;
  let clean: Awaited<ReturnType<typeof snapshotIndex>>;
  const runtimes: TestRuntime[] = [];

  /** A runtime on its own database whose embedder talks to the fake with a short timeout. */
  async function faultRuntime(env: Record<string, string> = {}) {
    const rt = await createTestRuntime({
      SYNC_BATCH_SIZE: "3",
      EMBEDDING_PROVIDER: "openai",
      EMBEDDING_MODEL: "text-embedding-3-small",
      EMBEDDING_DIMENSIONS: "64",
      EMBEDDING_BATCH_SIZE: "4",
      OPENAI_API_KEY: KEY,
      OPENAI_BASE_URL: openai.baseUrl,
      BREAKER_OPEN_MS: String(OPEN_MS),
      ...env,
    });
    runtimes.push(rt);
    rt.deps.embedder = createEmbeddingProvider({
      ...rt.config.embedding,
      timeoutMs: 250,
      maxRetries: 8,
      retryBaseDelayMs: 5,
      retryMaxDelayMs: 40,
      breaker: rt.breakers.get("embedding:openai"),
      budget: new ProviderBudget("openai", rt.redis, rt.config.resilience.budgets.openai),
    });
    rt.deps.dlq = { maxRecoveries: 5, alertDepth: 100, backoffBaseMs: 0 };
    return rt;
  }

  const sourceOf = (rt: TestRuntime) =>
    addSource(rt.db, { kind: "git", location: repo.dir, name: "faults" });

  beforeAll(async () => {
    openai = await startFakeOpenAI({ apiKey: KEY });
    repo = await createTestRepo();
    const files: Record<string, string> = {};
    for (let i = 0; i < 14; i++)
      files[`src/module${i}.ts`] =
        `export function handler${i}(input: number) {\n  // module ${i}: ${"computes a value ".repeat(i + 1)}\n  return input * ${i + 1};\n}\n`;
    files["docs/guide.md"] =
      "# Guide\n\n## Recovery\n\nFailed documents go to the dead-letter queue.\n";
    await repo.writeMany(files);
    await repo.commit("initial");
    const rt = await faultRuntime();
    const source = await sourceOf(rt);
    const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
    expect(run.status).toBe("succeeded");
    clean = await snapshotIndex(rt.db, source.id);
    expect(clean.documents).toHaveLength(15);
  }, 60_000);

  afterAll(async () => {
    for (const rt of runtimes) await rt.close();
    await openai.close();
    await removeTempDirs();
  });

  it("completes a sync while 30 % of calls fail with 500 and 10 % stall past the timeout; index exact, nothing embedded twice", async () => {
    const rt = await faultRuntime();
    const source = await sourceOf(rt);
    const before = openai.requests.length;
    openai.faults({ errorRate: 0.3, stallRate: 0.1, stallMs: 1000, seed: 4242 });
    try {
      const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
      expect(run.status).toBe("succeeded");
      expect(run.failed).toBe(0);
    } finally {
      openai.faults({});
    }
    expect(await snapshotIndex(rt.db, source.id)).toEqual(clean);
    const requests = openai.requests.slice(before);
    const errors = requests.filter((r) => r.injected === "error").length;
    const stalls = requests.filter((r) => r.injected === "stall").length;
    const answered = requests.filter((r) => !r.injected && r.status === 200);
    // Every text was embedded by exactly one answered call: the retries were only of failed calls.
    const embeddedTimes = new Map<string, number>();
    for (const r of answered)
      for (const input of (r.body as { input: string[] }).input)
        embeddedTimes.set(input, (embeddedTimes.get(input) ?? 0) + 1);
    const [chunks] = rowsOf<{ n: number }>(
      await rt.db.execute(
        sql`select count(distinct content_hash)::int as n from chunks where source_id = ${source.id}`,
      ),
    );
    expect(embeddedTimes.size).toBe(chunks?.n);
    expect([...embeddedTimes.values()].every((n) => n === 1)).toBe(true);
    expect(errors).toBeGreaterThan(0);
    expect(stalls).toBeGreaterThan(0);
    report(
      `[fault 30% 500 + 10% stall] requests ${requests.length}: ${errors} injected 500s, ${stalls} stalls, ${answered.length} answered; distinct chunks ${chunks?.n}, each embedded once; index equals the clean sync's (${clean.documents.length} documents, ${clean.chunks.length} chunks)`,
    );
  }, 120_000);

  it("provider down: the breaker opens and stops the calls, documents go to the DLQ; back up: error-recovery drains it and the index is exact", async () => {
    const rt = await faultRuntime();
    rt.deps.syncTiming = { breakerWaitRounds: 2 };
    const source = await sourceOf(rt);
    const before = openai.requests.length;
    openai.faults({ down: true });
    let run: Awaited<ReturnType<typeof syncSourceLocally>>;
    try {
      run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
    } finally {
      openai.faults({});
    }
    const calls = openai.requests.slice(before);
    expect(run.status).toBe("completed_with_errors");
    expect(run.failed).toBe(15);
    // Five calls opened the breaker; after that only one probe per open period reached it.
    expect(calls.length).toBeGreaterThanOrEqual(5);
    const probes = calls.slice(5);
    for (let i = 1; i < probes.length; i++)
      expect(
        (probes[i]?.receivedAt ?? 0) - (probes[i - 1]?.receivedAt ?? 0),
      ).toBeGreaterThanOrEqual(OPEN_MS - 50);
    // At most one probe per attempt of a batch: 5 batches × (1 + 2 wait rounds).
    expect(probes.length).toBeLessThanOrEqual(5 * 3);
    const open = rowsOf<{ status: string; error_class: string; dependency: string; n: number }>(
      await rt.db.execute(sql`select status, error_class, dependency, count(*)::int as n
        from dead_letters group by 1, 2, 3`),
    );
    expect(open).toEqual([
      { status: "pending", error_class: "breaker_open", dependency: "embedding:openai", n: 15 },
    ]);
    expect(await rt.breakers.get("embedding:openai").state()).not.toBe("closed");

    // The provider is back. While the breaker is still open, error-recovery waits.
    await rt.breakers
      .get("embedding:openai")
      .run(() => Promise.reject(new Error("ECONNRESET")))
      .catch(() => {});
    const waiting = await recoverLocally(rt.deps).catch((e: unknown) => {
      throw new Error(errorMessage(e));
    });
    const stateThen = await rt.breakers.get("embedding:openai").state();
    if (stateThen === "open") expect(waiting.redriven).toBe(0);
    await new Promise((r) => setTimeout(r, OPEN_MS + 50));
    expect(await rt.breakers.get("embedding:openai").state()).toBe("half-open");
    const recovered = await recoverLocally(rt.deps);
    expect(recovered.redriven).toBe(15);
    expect(await rt.breakers.get("embedding:openai").state()).toBe("closed");
    const [left] = rowsOf<{ open: number; resolved: number }>(
      await rt.db.execute(sql`select
        count(*) filter (where status in ('pending', 'redriven', 'parked'))::int as open,
        count(*) filter (where status = 'resolved')::int as resolved from dead_letters`),
    );
    expect(left).toEqual({ open: 0, resolved: 15 });
    expect(await snapshotIndex(rt.db, source.id)).toEqual(clean);
    report(
      `[fault provider down] calls reaching the provider: ${calls.length} (5 to open, ${probes.length} probes ≥ ${OPEN_MS} ms apart); DLQ before recovery 15 pending (breaker_open, embedding:openai); after error-recovery: ${recovered.redriven} re-driven, open 0, resolved 15; index equals the clean sync's`,
    );
  }, 120_000);

  it("waits out a 429's Retry-After: 2 before the next call", async () => {
    const rt = await faultRuntime();
    const before = openai.requests.length;
    openai.script({ kind: "status", status: 429, headers: { "retry-after": "2" }, body: {} });
    const result = await rt.deps.embedder.embedDocuments(["retry after two seconds"]);
    expect(result.vectors).toHaveLength(1);
    const [first, second] = openai.requests.slice(before);
    const gap = (second?.receivedAt ?? 0) - (first?.receivedAt ?? 0);
    expect(first?.status).toBe(429);
    expect(gap).toBeGreaterThanOrEqual(2000);
    report(`[fault 429 Retry-After: 2] 2 calls, the second ${gap} ms after the first`);
  }, 30_000);

  describe.each([
    [
      "in-process store",
      async () => ({
        store: () => createRedisStore({ backend: "memory", env: "test", keyspace }),
        close: async () => {},
      }),
    ],
    [
      "real Redis",
      async () => {
        if (!redisServerBinary()) return null;
        const server: RedisServer = await startRedisServer();
        const bridge: UpstashBridge = await startUpstashBridge({ redisUrl: server.url });
        return {
          store: () =>
            createRedisStore({
              backend: "upstash",
              url: bridge.url,
              token: bridge.token,
              env: "test",
            }),
          close: async () => {
            await bridge.close();
            await server.stop();
          },
        };
      },
    ],
  ] as const)("TPM budget on the %s", (_name, make) => {
    it("4 concurrent batches never exceed it (tokens counted at the provider per window)", async () => {
      const backend = await make();
      if (!backend) return;
      const stores: RedisStore[] = [];
      try {
        const rt = await faultRuntime();
        const TPM = 300;
        const WINDOW = 1000;
        const texts = (k: number) =>
          Array.from(
            { length: 8 },
            (_, i) => `batch ${k} text ${i}: ${"tokens for the budget ".repeat(4)}`,
          );
        const before = openai.requests.length;
        await Promise.all(
          [0, 1, 2, 3].map((k) => {
            const store = backend.store();
            stores.push(store);
            const embedder = createEmbeddingProvider({
              ...rt.config.embedding,
              batchSize: 2,
              budget: new ProviderBudget("openai", store, {
                requestsPerMinute: 0,
                tokensPerMinute: TPM,
                windowMs: WINDOW,
              }),
            });
            return embedder.embedDocuments(texts(k));
          }),
        );
        const requests = openai.requests.slice(before);
        const perWindow = new Map<number, number>();
        for (const r of requests) {
          const w = Math.floor(r.receivedAt / WINDOW);
          perWindow.set(w, (perWindow.get(w) ?? 0) + (r.billedTokens ?? 0));
        }
        const total = [...perWindow.values()].reduce((a, b) => a + b, 0);
        expect(requests).toHaveLength(16);
        expect(Math.max(...perWindow.values())).toBeLessThanOrEqual(TPM);
        expect(perWindow.size).toBeGreaterThanOrEqual(Math.ceil(total / TPM));
        report(
          `[fault TPM ${_name}] 4 concurrent batches, ${requests.length} calls, ${total} tokens over ${perWindow.size} windows of ${WINDOW} ms; per window: ${[...perWindow.values()].join(", ")} (budget ${TPM})`,
        );
      } finally {
        for (const s of stores) await s.close();
        await backend.close();
      }
    }, 60_000);
  });

  it("a finished run's event replayed, and the same request twice: no new rows, no embedding call", async () => {
    const rt = await faultRuntime();
    const source = await sourceOf(rt);
    const event = {
      id: "replay-me",
      name: "source/sync.requested",
      data: { sourceId: source.id, mode: "full", trigger: "webhook", dedupeKey: "delivery-42" },
    };
    const first = await runInline(syncSourceWorkflow, event, {
      deps: async () => rt.deps,
      log: rt.log,
      workflows,
    });
    expect(first.ok).toBe(true);
    const count = async () =>
      rowsOf<{ runs: number; items: number; chunks: number; documents: number }>(
        await rt.db.execute(sql`select (select count(*) from sync_runs)::int as runs,
          (select count(*) from sync_run_items)::int as items, (select count(*) from chunks)::int as chunks,
          (select count(*) from documents)::int as documents`),
      )[0];
    const rows = await count();
    const calls = openai.requests.length;
    for (let i = 0; i < 2; i++) {
      const again = await runInline(syncSourceWorkflow, event, {
        deps: async () => rt.deps,
        log: rt.log,
        workflows,
      });
      expect(again.ok).toBe(true);
    }
    expect(await count()).toEqual(rows);
    expect(openai.requests.length).toBe(calls);
    report(
      `[fault replayed event x2] rows before ${JSON.stringify(rows)}, after the same; embedding calls before ${calls}, after ${openai.requests.length}`,
    );
  }, 60_000);
});
