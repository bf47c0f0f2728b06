/**
 * The in-process store on a fake clock, where exact instants can be checked: expiry at the
 * boundary (Redis keeps a key alive at its expiry instant), and each rate-limit algorithm's
 * arithmetic worked out by hand from @upstash/ratelimit's Lua scripts.
 */
import { describe, expect, it } from "vitest";
import { ConflictError, ValidationError } from "../../lib/errors";
import { createRedisStore, MemoryKeyspace, type RateLimitResult } from "../../lib/redis";

function fakeClock(start: number) {
  let now = start;
  return {
    now: () => now,
    set: (t: number) => {
      now = t;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const T = 1_700_000_000_000; // a multiple of every window used below

describe("memory store: expiry", () => {
  it("keeps a key alive at its expiry instant and drops it one millisecond later", async () => {
    const clock = fakeClock(T);
    const kv = createRedisStore({ backend: "memory", env: "test", now: clock.now }).kv("cache");
    await kv.set("k", "v", { ttlMs: 100 });
    clock.advance(60);
    expect(await kv.ttlMs("k")).toBe(40);
    clock.advance(40);
    expect(await kv.get("k")).toBe("v");
    expect(await kv.ttlMs("k")).toBe(0);
    clock.advance(1);
    expect(await kv.get("k")).toBeNull();
    expect(await kv.ttlMs("k")).toBeNull();
    expect(await kv.set("k", "again", { onlyIfAbsent: true })).toBe(true);
  });

  it("frees a lock exactly after its TTL", async () => {
    const clock = fakeClock(T);
    const store = createRedisStore({ backend: "memory", env: "test", now: clock.now });
    const lock = await store.acquireLock("job", 1_000);
    expect(lock).not.toBeNull();
    clock.advance(1_000);
    expect(await store.acquireLock("job", 1_000)).toBeNull();
    clock.advance(1);
    expect(await store.acquireLock("job", 1_000)).not.toBeNull();
    expect(await lock?.extend(5_000)).toBe(false);
  });

  it("does not keep expired keys around", () => {
    const clock = fakeClock(T);
    const keyspace = new MemoryKeyspace({ now: clock.now });
    for (let i = 0; i < 2_000; i++) keyspace.setString(`k${i}`, "v", { ttlMs: 10 });
    expect(keyspace.keys()).toHaveLength(2_000);
    clock.advance(11);
    expect(keyspace.keys()).toHaveLength(0);
    keyspace.setString("live", "v");
    expect(keyspace.keys()).toEqual(["live"]);
  });
});

describe("memory store: sharing and options", () => {
  it("stores share data only through a shared keyspace", async () => {
    const keyspace = new MemoryKeyspace();
    const a = createRedisStore({ backend: "memory", env: "dev", keyspace });
    const b = createRedisStore({ backend: "memory", env: "dev", keyspace });
    const separate = createRedisStore({ backend: "memory", env: "dev" });
    await a.kv("docs").set("k", "v");
    expect(await b.kv("docs").get("k")).toBe("v");
    expect(await separate.kv("docs").get("k")).toBeNull();
    expect(keyspace.keys()).toEqual(["ballast:dev:docs:k"]);
  });

  it("refuses a keyspace and a clock together", () => {
    expect(() =>
      createRedisStore({
        backend: "memory",
        env: "dev",
        keyspace: new MemoryKeyspace(),
        now: () => T,
      }),
    ).toThrow(ValidationError);
  });

  it("refuses to increment past the safe integer range", async () => {
    const kv = createRedisStore({ backend: "memory", env: "dev" }).kv("n");
    await kv.set("big", String(Number.MAX_SAFE_INTEGER));
    await expect(kv.increment("big")).rejects.toBeInstanceOf(ConflictError);
    expect(await kv.get("big")).toBe(String(Number.MAX_SAFE_INTEGER));
  });
});

function summary(results: RateLimitResult[]) {
  return results.map((r) => [r.allowed, r.remaining, r.resetAt]);
}

describe("memory store: rate-limit arithmetic", () => {
  it("fixed window: counts per window and resets at the window's end", async () => {
    const clock = fakeClock(T + 250);
    const limiter = createRedisStore({ backend: "memory", env: "t", now: clock.now }).rateLimiter(
      "f",
      {
        algorithm: "fixed-window",
        limit: 3,
        windowMs: 1_000,
      },
    );
    const first = [];
    for (let i = 0; i < 4; i++) first.push(await limiter.limit("u"));
    expect(summary(first)).toEqual([
      [true, 2, T + 1_000],
      [true, 1, T + 1_000],
      [true, 0, T + 1_000],
      [false, 0, T + 1_000],
    ]);
    clock.set(T + 999);
    expect((await limiter.limit("u")).allowed).toBe(false);
    clock.set(T + 1_000);
    expect(summary([await limiter.limit("u")])).toEqual([[true, 2, T + 2_000]]);
  });

  it("sliding window: weighs the previous window by how much of it still overlaps", async () => {
    const clock = fakeClock(T);
    const limiter = createRedisStore({ backend: "memory", env: "t", now: clock.now }).rateLimiter(
      "s",
      {
        algorithm: "sliding-window",
        limit: 10,
        windowMs: 10_000,
      },
    );
    const call = async (n: number) => {
      const out = [];
      for (let i = 0; i < n; i++) out.push(await limiter.limit("u"));
      return summary(out);
    };
    expect(await call(11)).toEqual([
      ...[9, 8, 7, 6, 5, 4, 3, 2, 1, 0].map((r) => [true, r, T + 10_000]),
      [false, 0, T + 10_000],
    ]);
    // 25% into the next window: floor(0.75 * 10) = 7 of the previous window still count.
    clock.set(T + 12_500);
    expect(await call(4)).toEqual([
      [true, 2, T + 20_000],
      [true, 1, T + 20_000],
      [true, 0, T + 20_000],
      [false, 0, T + 20_000],
    ]);
    // 75% in: floor(0.25 * 10) = 2 from before, 3 in this window: 5 more fit.
    clock.set(T + 17_500);
    expect(await call(6)).toEqual([
      [true, 4, T + 20_000],
      [true, 3, T + 20_000],
      [true, 2, T + 20_000],
      [true, 1, T + 20_000],
      [true, 0, T + 20_000],
      [false, 0, T + 20_000],
    ]);
    // Two windows later nothing counts any more.
    clock.set(T + 30_000);
    expect(await call(1)).toEqual([[true, 9, T + 40_000]]);
  });

  it("token bucket: refills whole intervals from the last refill, and starts afresh once expired", async () => {
    const clock = fakeClock(T);
    const limiter = createRedisStore({ backend: "memory", env: "t", now: clock.now }).rateLimiter(
      "b",
      {
        algorithm: "token-bucket",
        limit: 5,
        windowMs: 10_000,
      },
    );
    expect(summary([await limiter.limit("u")])).toEqual([[true, 4, T + 10_000]]);
    clock.set(T + 5_000);
    expect(summary([await limiter.limit("u")])).toEqual([[true, 3, T + 10_000]]);
    // One interval since the bucket was filled at T: refilled to 5 (capped), counted from T + 10 s.
    clock.set(T + 12_000);
    const burst = [];
    for (let i = 0; i < 6; i++) burst.push(await limiter.limit("u"));
    expect(summary(burst)).toEqual([
      [true, 4, T + 20_000],
      [true, 3, T + 20_000],
      [true, 2, T + 20_000],
      [true, 1, T + 20_000],
      [true, 0, T + 20_000],
      [false, 0, T + 20_000],
    ]);
    clock.set(T + 20_000);
    expect(summary([await limiter.limit("u")])).toEqual([[true, 4, T + 30_000]]);
    // Idle past the key's expiry (one interval after the last take): a fresh, full bucket.
    clock.set(T + 45_000);
    expect(summary([await limiter.limit("u")])).toEqual([[true, 4, T + 55_000]]);
  });
});
