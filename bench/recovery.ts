/**
 * The error-recovery section of `npm run bench` (`--only-recovery` runs it alone,
 * `--skip-recovery` leaves it out):
 *   - breaker check and inbound limiter call overhead, p50/p99, on the in-process store and
 *     on a real redis-server through the Upstash REST bridge (skipped without redis-server);
 *   - a full sync against a loopback OpenAI-compatible provider, clean and with 30 % of calls
 *     failing with 500, with the production retry and breaker defaults: throughput ratio
 *     (target ≥ 0.5).
 */
import { enforceInbound } from "../lib/limits/policies";
import { addSource } from "../lib/pipeline/source-records";
import { createRedisStore, type RedisStore } from "../lib/redis";
import { BREAKER_DEFAULTS, CircuitBreaker } from "../lib/resilience/breaker";
import { syncSourceLocally } from "../lib/workflows/sync-now";
import { startFakeOpenAI } from "../tests/support/fake-openai";
import { createTestRepo, removeTempDirs } from "../tests/support/git-repo";
import { redisServerBinary, startRedisServer } from "../tests/support/redis-server";
import { createTestRuntime } from "../tests/support/runtime";
import { startUpstashBridge } from "../tests/support/upstash-bridge";

export interface OverheadFigure {
  store: "in-process" | "redis";
  what: "breaker" | "limiter";
  calls: number;
  p50Ms: number;
  p99Ms: number;
}

export interface RecoveryMeasurement {
  overhead: OverheadFigure[];
  redisSkipped: string | null;
  sync: {
    files: number;
    cleanMs: number;
    faultyMs: number;
    ratio: number;
    faultyRequests: number;
    injected: number;
    breakerOpened: boolean;
  };
}

export const RECOVERY_TARGETS = { faultyThroughputRatio: 0.5 } as const;

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length));
  return Math.round((sorted[index] ?? 0) * 1000) / 1000;
}

async function timeCalls(n: number, call: (i: number) => Promise<unknown>) {
  for (let i = 0; i < Math.min(50, n); i++) await call(i); // warm up
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await call(i);
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return { p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99) };
}

async function overheadOn(
  store: RedisStore,
  label: OverheadFigure["store"],
  calls: number,
): Promise<OverheadFigure[]> {
  const breaker = new CircuitBreaker("embedding:openai", store, BREAKER_DEFAULTS);
  const ok = () => Promise.resolve(1);
  const breakerTimes = await timeCalls(calls, () => breaker.run(ok));
  const limits = { inbound: { search: { limit: 1_000_000_000, windowMs: 60_000 } } };
  const limiterTimes = await timeCalls(calls, () =>
    enforceInbound(store, "search", "key:bench", limits),
  );
  return [
    { store: label, what: "breaker", calls, ...breakerTimes },
    { store: label, what: "limiter", calls, ...limiterTimes },
  ];
}

export async function measureRecovery(options: {
  quick: boolean;
  status: (message: string) => void;
}): Promise<RecoveryMeasurement> {
  const { status } = options;
  const calls = options.quick ? 300 : 2000;
  status(`recovery: breaker and limiter overhead, ${calls} calls each, in-process store`);
  const overhead = await overheadOn(
    createRedisStore({ backend: "memory", env: "bench" }),
    "in-process",
    calls,
  );
  let redisSkipped: string | null = null;
  if (redisServerBinary()) {
    status("recovery: the same on redis-server through the Upstash bridge");
    const server = await startRedisServer();
    const bridge = await startUpstashBridge({ redisUrl: server.url });
    const store = createRedisStore({
      backend: "upstash",
      url: bridge.url,
      token: bridge.token,
      env: "bench",
    });
    try {
      overhead.push(...(await overheadOn(store, "redis", Math.round(calls / 4))));
    } finally {
      await store.close();
      await bridge.close();
      await server.stop();
    }
  } else redisSkipped = "redis-server not installed";

  const files = options.quick ? 60 : 300;
  status(`recovery: full sync of ${files} files, clean and with 30 % provider 500s`);
  const key = "sk-bench-recovery-000000000000000000001";
  const openai = await startFakeOpenAI({ apiKey: key });
  const repo = await createTestRepo();
  const contents: Record<string, string> = {};
  for (let i = 0; i < files; i++)
    contents[`src/m${i}.ts`] =
      `export function f${i}(x: number) {\n  // ${"recovery bench ".repeat(1 + (i % 7))}\n  return x + ${i};\n}\n`;
  await repo.writeMany(contents);
  await repo.commit("bench");
  const env = {
    SYNC_BATCH_SIZE: "20",
    EMBEDDING_PROVIDER: "openai",
    EMBEDDING_MODEL: "text-embedding-3-small",
    EMBEDDING_DIMENSIONS: "64",
    EMBEDDING_BATCH_SIZE: "8",
    OPENAI_API_KEY: key,
    OPENAI_BASE_URL: openai.baseUrl,
    LOG_LEVEL: "silent",
  };
  const timedSync = async (faulty: boolean) => {
    const rt = await createTestRuntime(env);
    try {
      const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "bench" });
      if (faulty) openai.faults({ errorRate: 0.3, seed: 99 });
      const started = performance.now();
      const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
      const ms = performance.now() - started;
      openai.faults({});
      if (run.status !== "succeeded") throw new Error(`bench sync ended ${run.status}`);
      const opened = (await rt.breakers.get("embedding:openai").snapshot()).openedAt !== null;
      return { ms, opened };
    } finally {
      openai.faults({});
      await rt.close();
    }
  };
  try {
    const clean = await timedSync(false);
    const before = openai.requests.length;
    const faulty = await timedSync(true);
    const requests = openai.requests.slice(before);
    return {
      overhead,
      redisSkipped,
      sync: {
        files,
        cleanMs: Math.round(clean.ms),
        faultyMs: Math.round(faulty.ms),
        ratio: Math.round((clean.ms / faulty.ms) * 100) / 100,
        faultyRequests: requests.length,
        injected: requests.filter((r) => r.injected).length,
        breakerOpened: faulty.opened,
      },
    };
  } finally {
    await openai.close();
    await removeTempDirs();
  }
}
