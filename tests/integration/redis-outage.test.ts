import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { GET as healthGet } from "../../app/api/health/route";
import { rowsOf } from "../../db/client";
import type { EmbeddingProvider } from "../../lib/embedding";
import { addSource } from "../../lib/pipeline/source-records";
import { FallbackRedisStore } from "../../lib/redis/fallback";
import { setRuntime } from "../../lib/runtime";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fake-openai";
import { createTestRepo, removeTempDirs } from "../support/git-repo";
import { redisServerBinary, startRedisServer } from "../support/redis-server";
import { createTestRuntime } from "../support/runtime";
import { startUpstashBridge } from "../support/upstash-bridge";

const KEY = "sk-test-redis-outage-00000000000000001";
const report = (line: string) => process.stdout.write(`${line}\n`);

/**
 * A real redis-server (behind the Upstash REST bridge) holds the breaker state and the
 * provider budget; it is stopped when the sync reaches its second embedding call.
 */
describe.skipIf(!redisServerBinary())("Redis stopped mid-sync", () => {
  let openai: FakeOpenAI;
  afterAll(async () => {
    setRuntime(undefined);
    await openai?.close();
    await removeTempDirs();
  });

  async function syncWithOutage(required: boolean) {
    openai ??= await startFakeOpenAI({ apiKey: KEY });
    const server = await startRedisServer();
    const bridge = await startUpstashBridge({ redisUrl: server.url });
    const rt = await createTestRuntime({
      SYNC_BATCH_SIZE: "5",
      EMBEDDING_PROVIDER: "openai",
      EMBEDDING_MODEL: "text-embedding-3-small",
      EMBEDDING_DIMENSIONS: "64",
      OPENAI_API_KEY: KEY,
      OPENAI_BASE_URL: openai.baseUrl,
      UPSTASH_REDIS_REST_URL: bridge.url,
      UPSTASH_REDIS_REST_TOKEN: bridge.token,
      REDIS_REQUIRED: String(required),
    });
    expect(rt.redis).toBeInstanceOf(FallbackRedisStore);
    const repo = await createTestRepo();
    const files: Record<string, string> = {};
    for (let i = 0; i < 15; i++) files[`f${i}.md`] = `# File ${i}\n\nredis outage ${i}\n`;
    await repo.writeMany(files);
    await repo.commit("files");
    const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "outage" });
    const real = rt.deps.embedder;
    let calls = 0;
    let stopped = false;
    rt.deps.embedder = {
      ...real,
      provider: real.provider,
      model: real.model,
      dimensions: real.dimensions,
      space: real.space,
      countTokens: (t: string) => real.countTokens(t),
      costUsd: (n: number) => real.costUsd(n),
      embedQuery: (t: string) => real.embedQuery(t),
      async embedDocuments(texts: string[]) {
        if (++calls === 2 && !stopped) {
          stopped = true;
          await server.stop();
        }
        return real.embedDocuments(texts);
      },
    } satisfies EmbeddingProvider;
    const before = openai.requests.length;
    const run = await syncSourceLocally(rt.deps, {
      sourceId: source.id,
      mode: "full",
      sleep: async () => {},
    });
    setRuntime(rt);
    const response = await healthGet(new Request("http://localhost/api/health"));
    const health = (await response.json()) as {
      status: string;
      parts: Record<string, { status: string }>;
    };
    const dlq = rowsOf<{ dependency: string | null; message: string }>(
      await rt.db.execute(sql`select dependency, message from dead_letters`),
    );
    const result = {
      run,
      httpStatus: response.status,
      health,
      dlq,
      providerCalls: openai.requests.length - before,
      degraded: (rt.redis as FallbackRedisStore).degradation(),
    };
    setRuntime(undefined);
    await rt.close();
    await bridge.close();
    return result;
  }

  it("REDIS_REQUIRED=true: the batches needing Redis fail with a clear error into the DLQ; health 503", async () => {
    const r = await syncWithOutage(true);
    expect(r.run.status).toBe("completed_with_errors");
    expect(r.run.processed).toBe(5); // the batch before the outage
    expect(r.run.failed).toBe(10);
    expect(r.dlq).toHaveLength(10);
    expect(r.dlq.every((e) => e.message.includes("REDIS_REQUIRED=true"))).toBe(true);
    expect(r.dlq.every((e) => e.dependency === "redis")).toBe(true);
    expect(r.httpStatus).toBe(503);
    expect(r.health.parts.redis?.status).toBe("down");
    report(
      `[fault redis stopped, REDIS_REQUIRED=true] before the stop: 5 documents indexed; after: ${r.run.failed} failed into the DLQ (dependency redis), provider calls ${r.providerCalls}; health ${r.httpStatus} ${r.health.status}`,
    );
  }, 180_000);

  it("REDIS_REQUIRED=false: the in-process fallback finishes the sync; health says degraded", async () => {
    const r = await syncWithOutage(false);
    expect(r.run.status).toBe("succeeded");
    expect(r.run.processed).toBe(15);
    expect(r.dlq).toHaveLength(0);
    expect(r.degraded.degradedSince).not.toBeNull();
    expect(r.httpStatus).toBe(200);
    expect(r.health.status).toBe("degraded");
    expect(r.health.parts.redis?.status).toBe("down");
    report(
      `[fault redis stopped, REDIS_REQUIRED=false] 15 of 15 documents indexed (5 before the stop, 10 after on the in-process fallback), DLQ 0, provider calls ${r.providerCalls}; health ${r.httpStatus} ${r.health.status}`,
    );
  }, 180_000);
});
