/**
 * The memory store's rate limiters must count exactly like @upstash/ratelimit. This drives both
 * with the same long, seeded sequence of calls at the same instants and compares every result
 * (allowed, remaining, limit, resetAt).
 *
 * The clock: only `Date` is faked, so @upstash/ratelimit (which reads Date.now()) and the memory
 * store see the same instants, while timers, sockets and the real redis-server run normally.
 * Redis expires keys on its own real clock, which does not follow the fake one; the sequence is
 * built so that no key is ever read after it would have expired (calls on a 250 ms grid, windows a
 * multiple of the grid, and for the token bucket at least one call per identifier per tick), so
 * expiry cannot make the two differ for reasons that would not exist in production. The token
 * bucket's refill arithmetic across gaps is checked by hand in tests/unit/redis-memory.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  createRedisStore,
  type RateLimitAlgorithm,
  type RateLimitResult,
  type RedisStore,
} from "../../lib/redis";
import { type RedisServer, redisServerBinary, startRedisServer } from "../support/redis-server";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge";

/** mulberry32: a small seeded PRNG, so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GRID_MS = 250;
const WINDOW_MS = 4_000;
const LIMIT = 7;
const TICKS = 80;
const IDENTIFIERS = ["alice", "bob"];

describe.skipIf(redisServerBinary() === null)(
  "rate limit parity: memory store vs @upstash/ratelimit",
  () => {
    let server: RedisServer;
    let bridge: UpstashBridge;
    let upstash: RedisStore;
    let memory: RedisStore;

    beforeAll(async () => {
      server = await startRedisServer();
      bridge = await startUpstashBridge({ redisUrl: server.url });
      upstash = createRedisStore({
        backend: "upstash",
        url: bridge.url,
        token: bridge.token,
        env: "parity",
      });
      memory = createRedisStore({ backend: "memory", env: "parity" });
    });
    afterEach(() => {
      vi.useRealTimers();
    });
    afterAll(async () => {
      await upstash?.close();
      await memory?.close();
      await bridge?.close();
      await server?.stop();
    });

    const algorithms: RateLimitAlgorithm[] = ["fixed-window", "sliding-window", "token-bucket"];
    for (const [index, algorithm] of algorithms.entries()) {
      it(`${algorithm}: every result is the same over ${TICKS} ticks`, async () => {
        const random = prng(20240601 + index);
        const policy = { algorithm, limit: LIMIT, windowMs: WINDOW_MS };
        const name = `parity-${algorithm}`;
        const onUpstash = upstash.rateLimiter(name, policy);
        const onMemory = memory.rateLimiter(name, policy);

        vi.useFakeTimers({ toFake: ["Date"] });
        // Start part-way into a window, on the grid.
        let now = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS + 7 * GRID_MS;
        const fromUpstash: (RateLimitResult & { at: number; id: string })[] = [];
        const fromMemory: (RateLimitResult & { at: number; id: string })[] = [];
        for (let tick = 0; tick < TICKS; tick++) {
          vi.setSystemTime(now);
          for (const id of IDENTIFIERS) {
            // Bursty: mostly 1 call, sometimes several. The windows may skip ticks; the token
            // bucket may not (see above: its key expires one interval after the last take).
            const calls = (algorithm === "token-bucket" ? 1 : 0) + Math.floor(random() ** 2 * 4);
            for (let c = 0; c < calls; c++) {
              fromUpstash.push({ ...(await onUpstash.limit(id)), at: now, id });
              fromMemory.push({ ...(await onMemory.limit(id)), at: now, id });
            }
          }
          now += GRID_MS;
        }

        expect(fromMemory).toEqual(fromUpstash);
        // The sequence exercised both outcomes, across several windows.
        const allowed = fromUpstash.filter((r) => r.allowed).length;
        expect(allowed).toBeGreaterThan(LIMIT);
        expect(allowed).toBeLessThan(fromUpstash.length);
        expect(new Set(fromUpstash.map((r) => r.resetAt)).size).toBeGreaterThan(3);
      });
    }
  },
);
