/**
 * One contract for both RedisStore backends: the in-process store (on a fake clock) and the
 * Upstash store through the local Upstash-REST bridge to a real redis-server (on the real
 * clock). Waiting is done by `advance`/`waitUntil`: the fake clock jumps, the real one sleeps
 * past the deadline; no assertion depends on how fast anything ran.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConflictError, UnavailableError, ValidationError } from "../../lib/errors";
import {
  createRedisStore,
  MemoryKeyspace,
  type RateLimitAlgorithm,
  type RateLimitResult,
  type RedisStore,
} from "../../lib/redis";
import {
  freePort,
  type RedisServer,
  redisServerBinary,
  startRedisServer,
} from "../support/redis-server";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge";

interface Harness {
  /** A store on the shared backing data (one Redis, or one in-process keyspace). */
  store(env: string): RedisStore;
  raw: {
    keys(pattern: string): Promise<string[]>;
    get(key: string): Promise<string | null>;
    set(key: string, value: string): Promise<void>;
  };
  now(): number;
  advance(ms: number): Promise<void>;
  waitUntil(epochMs: number): Promise<void>;
}

interface Backend {
  name: "memory" | "upstash";
  skip: boolean;
  setup(): Promise<Harness>;
  teardown(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`);
}

function memoryBackend(): Backend {
  return {
    name: "memory",
    skip: false,
    async setup() {
      let clock = Date.now();
      const keyspace = new MemoryKeyspace({ now: () => clock });
      return {
        store: (env) => createRedisStore({ backend: "memory", env, keyspace }),
        raw: {
          keys: async (pattern) => keyspace.keys().filter((k) => globToRegExp(pattern).test(k)),
          get: async (key) => keyspace.getString(key),
          set: async (key, value) => {
            keyspace.setString(key, value);
          },
        },
        now: () => clock,
        advance: async (ms) => {
          clock += ms;
        },
        waitUntil: async (epochMs) => {
          clock = Math.max(clock, epochMs);
        },
      };
    },
    async teardown() {},
  };
}

function upstashBackend(): Backend {
  const bin = redisServerBinary();
  let server: RedisServer | undefined;
  let bridge: UpstashBridge | undefined;
  let direct: IORedis | undefined;
  const stores: RedisStore[] = [];
  return {
    name: "upstash",
    skip: bin === null,
    async setup() {
      server = await startRedisServer();
      bridge = await startUpstashBridge({ redisUrl: server.url });
      direct = new IORedis(server.url);
      const { url, token } = bridge;
      const io = direct;
      return {
        store: (env) => {
          const store = createRedisStore({ backend: "upstash", url, token, env });
          stores.push(store);
          return store;
        },
        raw: {
          keys: async (pattern) => (await io.keys(pattern)).sort(),
          get: (key) => io.get(key),
          set: async (key, value) => {
            await io.set(key, value, "KEEPTTL");
          },
        },
        now: () => Date.now(),
        advance: (ms) => sleep(ms),
        waitUntil: async (epochMs) => {
          while (Date.now() < epochMs) await sleep(Math.max(1, epochMs - Date.now()));
        },
      };
    },
    async teardown() {
      await Promise.all(stores.map((s) => s.close()));
      direct?.disconnect();
      await bridge?.close();
      await server?.stop();
    },
  };
}

const HOUR = 3_600_000;
const ALGORITHMS: RateLimitAlgorithm[] = ["fixed-window", "sliding-window", "token-bucket"];

function redisContract(backend: Backend) {
  let h: Harness;
  let counter = 0;
  /** A fresh env per test, so tests never see each other's keys. */
  const freshEnv = () => `t${++counter}-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    h = await backend.setup();
  });
  afterAll(async () => {
    await backend.teardown();
  });

  describe("key/value", () => {
    it("sets and gets strings exactly as given, and reports missing keys as null", async () => {
      const kv = h.store(freshEnv()).kv("docs");
      expect(await kv.get("missing")).toBeNull();
      const values = [
        "plain",
        "123",
        '{"a":1}',
        "null",
        "OK",
        "",
        "héllo ✓\nline 2\t\u0000end",
        "x".repeat(10_000),
      ];
      for (const [i, value] of values.entries()) {
        expect(await kv.set(`k${i}`, value)).toBe(true);
      }
      for (const [i, value] of values.entries()) {
        expect(await kv.get(`k${i}`)).toBe(value);
      }
      expect(await kv.set("k0", "overwritten")).toBe(true);
      expect(await kv.get("k0")).toBe("overwritten");
    });

    it("keys may contain colons and spaces without leaving their area", async () => {
      const env = freshEnv();
      const kv = h.store(env).kv("docs");
      await kv.set("repo:42:path with space", "v");
      expect(await kv.get("repo:42:path with space")).toBe("v");
      expect(await h.raw.keys(`ballast:${env}:*`)).toEqual([
        `ballast:${env}:docs:repo:42:path with space`,
      ]);
    });

    it("expires keys after their TTL and reports the TTL left", async () => {
      const kv = h.store(freshEnv()).kv("cache");
      expect(await kv.set("long", "v", { ttlMs: 60_000 })).toBe(true);
      const ttl = await kv.ttlMs("long");
      expect(ttl).not.toBeNull();
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
      expect(await kv.ttlMs("missing")).toBeNull();

      await kv.set("short", "v", { ttlMs: 150 });
      await h.advance(400);
      expect(await kv.get("short")).toBeNull();
      expect(await kv.ttlMs("short")).toBeNull();
      expect(await kv.get("long")).toBe("v");
    });

    it("a plain set clears an earlier TTL; a key without TTL reports null", async () => {
      const kv = h.store(freshEnv()).kv("cache");
      await kv.set("k", "v1", { ttlMs: 150 });
      await kv.set("k", "v2");
      expect(await kv.ttlMs("k")).toBeNull();
      await h.advance(400);
      expect(await kv.get("k")).toBe("v2");
    });

    it("onlyIfAbsent sets only when missing, and again once the key expired", async () => {
      const kv = h.store(freshEnv()).kv("dedupe");
      expect(await kv.set("event-1", "first", { onlyIfAbsent: true, ttlMs: 150 })).toBe(true);
      expect(await kv.set("event-1", "second", { onlyIfAbsent: true })).toBe(false);
      expect(await kv.get("event-1")).toBe("first");
      await h.advance(400);
      expect(await kv.set("event-1", "third", { onlyIfAbsent: true })).toBe(true);
      expect(await kv.get("event-1")).toBe("third");
      expect(await kv.ttlMs("event-1")).toBeNull();
    });

    it("deletes and says whether the key existed", async () => {
      const kv = h.store(freshEnv()).kv("docs");
      await kv.set("k", "v");
      expect(await kv.delete("k")).toBe(true);
      expect(await kv.get("k")).toBeNull();
      expect(await kv.delete("k")).toBe(false);
    });

    it("increments counters, applying the TTL only when the counter is created", async () => {
      const kv = h.store(freshEnv()).kv("counters");
      expect(await kv.increment("plain")).toBe(1);
      expect(await kv.increment("plain", { by: 5 })).toBe(6);
      expect(await kv.increment("plain", { by: -2 })).toBe(4);
      expect(await kv.increment("plain", { by: 0 })).toBe(4);
      expect(await kv.get("plain")).toBe("4");
      expect(await kv.ttlMs("plain")).toBeNull();

      expect(await kv.increment("windowed", { ttlMs: 60_000 })).toBe(1);
      expect(await kv.increment("windowed", { ttlMs: 500 })).toBe(2);
      // The second call did not shorten the TTL set at creation.
      expect(await kv.ttlMs("windowed")).toBeGreaterThan(500);

      expect(await kv.increment("short", { ttlMs: 150 })).toBe(1);
      expect(await kv.increment("short", { ttlMs: 150 })).toBe(2);
      await h.advance(400);
      expect(await kv.get("short")).toBeNull();
      expect(await kv.increment("short", { ttlMs: 60_000 })).toBe(1);
      expect(await kv.ttlMs("short")).toBeGreaterThan(0);

      // An existing key without TTL keeps having none.
      await kv.set("existing", "10");
      expect(await kv.increment("existing", { ttlMs: 150 })).toBe(11);
      expect(await kv.ttlMs("existing")).toBeNull();
    });

    it("refuses to increment a value that is not an integer, and leaves it as it was", async () => {
      const kv = h.store(freshEnv()).kv("counters");
      await kv.set("text", "abc");
      const error = await kv.increment("text").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConflictError);
      expect((error as ConflictError).code).toBe("redis_wrong_type");
      await expect(kv.increment("text", { ttlMs: 1_000 })).rejects.toBeInstanceOf(ConflictError);
      expect(await kv.get("text")).toBe("abc");
      expect(await kv.ttlMs("text")).toBeNull();
      // What Redis takes for an integer: no sign on zero, no leading zeros, spaces or decimals.
      for (const [i, value] of ["", "012", " 1", "1 ", "1.5", "-0", "+1", "1e3"].entries()) {
        await kv.set(`odd${i}`, value);
        await expect(kv.increment(`odd${i}`), JSON.stringify(value)).rejects.toBeInstanceOf(
          ConflictError,
        );
        expect(await kv.get(`odd${i}`)).toBe(value);
      }
      await kv.set("negative", "-12");
      expect(await kv.increment("negative")).toBe(-11);
    });
  });

  describe("namespacing", () => {
    it("stores with different envs do not see each other's keys; raw keys are ballast:<env>:<area>:<key>", async () => {
      const envA = freshEnv();
      const envB = freshEnv();
      const a = h.store(envA);
      const b = h.store(envB);
      expect(a.prefix).toBe(`ballast:${envA}:`);
      expect(a.backend).toBe(backend.name);

      await a.kv("docs").set("shared-name", "from A");
      expect(await b.kv("docs").get("shared-name")).toBeNull();
      expect(await b.kv("docs").set("shared-name", "from B", { onlyIfAbsent: true })).toBe(true);
      expect(await a.kv("docs").get("shared-name")).toBe("from A");
      expect(await b.kv("docs").get("shared-name")).toBe("from B");
      expect(await a.kv("other-area").get("shared-name")).toBeNull();

      expect(await h.raw.keys(`ballast:${envA}:*`)).toEqual([`ballast:${envA}:docs:shared-name`]);
      expect(await h.raw.get(`ballast:${envA}:docs:shared-name`)).toBe("from A");
      expect(await h.raw.get(`ballast:${envB}:docs:shared-name`)).toBe("from B");

      // A second store on the same env sees the same data.
      expect(await h.store(envA).kv("docs").get("shared-name")).toBe("from A");
    });

    it("locks and rate limiters live under ballast:<env>:lock: and ballast:<env>:ratelimit:", async () => {
      const env = freshEnv();
      const store = h.store(env);
      const lock = await store.acquireLock("sync:repo-7", 60_000);
      expect(lock).not.toBeNull();
      await store
        .rateLimiter("api", { algorithm: "token-bucket", limit: 5, windowMs: HOUR })
        .limit("user-1");
      await store
        .rateLimiter("api2", { algorithm: "fixed-window", limit: 5, windowMs: HOUR })
        .limit("user-1");
      const keys = await h.raw.keys(`ballast:${env}:*`);
      expect(keys).toContain(`ballast:${env}:lock:sync:repo-7`);
      expect(keys).toContain(`ballast:${env}:ratelimit:api:user-1`);
      expect(keys.some((k) => /^ballast:[^:]+:ratelimit:api2:user-1:\d+$/.test(k))).toBe(true);
      expect(keys).toHaveLength(3);
      expect(await h.raw.get(`ballast:${env}:lock:sync:repo-7`)).toBe(lock?.token);
    });
  });

  describe("locks", () => {
    it("a second acquire fails while held; release frees it; a released lock cannot be released again", async () => {
      const store = h.store(freshEnv());
      const first = await store.acquireLock("reindex", 60_000);
      expect(first).not.toBeNull();
      expect(first?.name).toBe("reindex");
      expect(first?.token).toMatch(/^[0-9a-f-]{36}$/);
      expect(await store.acquireLock("reindex", 60_000)).toBeNull();
      expect(await store.acquireLock("other", 60_000)).not.toBeNull();

      expect(await first?.release()).toBe(true);
      expect(await first?.release()).toBe(false);
      const second = await store.acquireLock("reindex", 60_000);
      expect(second).not.toBeNull();
      expect(second?.token).not.toBe(first?.token);
    });

    it("exactly one of many concurrent acquirers wins", async () => {
      const store = h.store(freshEnv());
      const results = await Promise.all(
        Array.from({ length: 20 }, () => store.acquireLock("race", 60_000)),
      );
      expect(results.filter((r) => r !== null)).toHaveLength(1);
    });

    it("release and extend do nothing when the lock holds another token", async () => {
      const env = freshEnv();
      const store = h.store(env);
      const lock = await store.acquireLock("job", 60_000);
      expect(lock).not.toBeNull();
      await h.raw.set(`ballast:${env}:lock:job`, "someone-else");
      expect(await lock?.release()).toBe(false);
      expect(await lock?.extend(60_000)).toBe(false);
      expect(await h.raw.get(`ballast:${env}:lock:job`)).toBe("someone-else");
      expect(await store.acquireLock("job", 60_000)).toBeNull();
    });

    it("expiry frees the lock, and the old holder can then neither release nor extend it", async () => {
      const store = h.store(freshEnv());
      const old = await store.acquireLock("expiring", 150);
      expect(old).not.toBeNull();
      await h.advance(400);
      const next = await store.acquireLock("expiring", 60_000);
      expect(next).not.toBeNull();
      expect(await old?.release()).toBe(false);
      expect(await old?.extend(60_000)).toBe(false);
      expect(await store.acquireLock("expiring", 60_000)).toBeNull();
      expect(await next?.release()).toBe(true);
    });

    it("extend keeps the lock past its first TTL", async () => {
      const store = h.store(freshEnv());
      const lock = await store.acquireLock("long-job", 2_000);
      expect(lock).not.toBeNull();
      expect(await lock?.extend(60_000)).toBe(true);
      await h.advance(2_500);
      expect(await store.acquireLock("long-job", 60_000)).toBeNull();
      expect(await lock?.release()).toBe(true);
      expect(await lock?.extend(60_000)).toBe(false);
    });
  });

  describe("rate limiters", () => {
    for (const algorithm of ALGORITHMS) {
      describe(algorithm, () => {
        it("a limit of 10 over 20 calls lets exactly the first 10 through", async () => {
          const store = h.store(freshEnv());
          const limiter = store.rateLimiter("api", { algorithm, limit: 10, windowMs: HOUR });
          expect(limiter.name).toBe("api");
          expect(limiter.policy).toEqual({ algorithm, limit: 10, windowMs: HOUR });
          const before = h.now();
          const results: RateLimitResult[] = [];
          for (let i = 0; i < 20; i++) results.push(await limiter.limit("user-1"));
          expect(results.map((r) => r.allowed)).toEqual([
            ...Array<boolean>(10).fill(true),
            ...Array<boolean>(10).fill(false),
          ]);
          expect(results.map((r) => r.remaining)).toEqual([
            9,
            8,
            7,
            6,
            5,
            4,
            3,
            2,
            1,
            0,
            ...Array<number>(10).fill(0),
          ]);
          for (const r of results) {
            expect(r.limit).toBe(10);
            expect(r.resetAt).toBeGreaterThan(before);
            expect(r.resetAt).toBeLessThanOrEqual(h.now() + HOUR);
          }
          if (algorithm !== "token-bucket") {
            const windowEnd = (Math.floor(before / HOUR) + 1) * HOUR;
            // A window boundary could fall between two calls only if the test ran across an hour mark.
            expect([windowEnd, windowEnd + HOUR]).toContain(results[0]?.resetAt);
          }

          // Identifiers are counted separately.
          expect((await limiter.limit("user-2")).allowed).toBe(true);
        });

        it("concurrent calls are counted atomically", async () => {
          const limiter = h
            .store(freshEnv())
            .rateLimiter("burst", { algorithm, limit: 10, windowMs: HOUR });
          const results = await Promise.all(
            Array.from({ length: 20 }, () => limiter.limit("user-1")),
          );
          expect(results.filter((r) => r.allowed)).toHaveLength(10);
        });

        it("allows again once the window has passed", async () => {
          const windowMs = 1_000;
          const limiter = h
            .store(freshEnv())
            .rateLimiter("short", { algorithm, limit: 2, windowMs });
          let denied: RateLimitResult | undefined;
          for (let i = 0; i < 10 && !denied; i++) {
            const r = await limiter.limit("user-1");
            if (!r.allowed) denied = r;
          }
          expect(denied).toBeDefined();
          expect(denied?.remaining).toBe(0);
          // The sliding window also weighs the previous window: wait until that one is empty too.
          const clearAt = (denied?.resetAt ?? 0) + (algorithm === "sliding-window" ? windowMs : 0);
          await h.waitUntil(clearAt + 1);
          const again = await limiter.limit("user-1");
          expect(again.allowed).toBe(true);
          expect(again.remaining).toBe(1);
        });
      });
    }

    it("a limiter's name scopes its counts", async () => {
      const store = h.store(freshEnv());
      const policy = { algorithm: "fixed-window", limit: 1, windowMs: HOUR } as const;
      expect((await store.rateLimiter("a", policy).limit("u")).allowed).toBe(true);
      expect((await store.rateLimiter("a", policy).limit("u")).allowed).toBe(false);
      expect((await store.rateLimiter("b", policy).limit("u")).allowed).toBe(true);
    });
  });

  describe("bad input", () => {
    it("rejects invalid areas, lock names, limiter names, policies, keys and options, writing nothing", async () => {
      const env = freshEnv();
      const store = h.store(env);
      for (const area of [
        "",
        "a b",
        "a:b",
        " docs",
        "docs\n",
        "lock",
        "ratelimit",
        "x".repeat(65),
        "a*",
      ]) {
        expect(() => store.kv(area), `area ${JSON.stringify(area)}`).toThrow(ValidationError);
      }
      for (const name of ["", "a b", "tab\there", "line\nbreak", "x".repeat(201)]) {
        await expect(
          store.acquireLock(name, 1_000),
          `lock ${JSON.stringify(name)}`,
        ).rejects.toBeInstanceOf(ValidationError);
      }
      for (const ttl of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(store.acquireLock("ok", ttl)).rejects.toBeInstanceOf(ValidationError);
      }
      const good = { algorithm: "fixed-window", limit: 1, windowMs: 1_000 } as const;
      for (const name of ["", "a:b", "a b"]) {
        expect(() => store.rateLimiter(name, good)).toThrow(ValidationError);
      }
      const badPolicies: unknown[] = [
        { ...good, algorithm: "leaky-bucket" },
        { ...good, limit: 0 },
        { ...good, limit: 1.5 },
        { ...good, windowMs: 0 },
        { ...good, windowMs: -5 },
        {},
        null,
      ];
      for (const policy of badPolicies) {
        expect(
          () => store.rateLimiter("ok", policy as typeof good),
          JSON.stringify(policy),
        ).toThrow(ValidationError);
      }
      await expect(store.rateLimiter("ok", good).limit("")).rejects.toBeInstanceOf(ValidationError);

      const kv = store.kv("docs");
      await expect(kv.get("")).rejects.toBeInstanceOf(ValidationError);
      await expect(kv.set("", "v")).rejects.toBeInstanceOf(ValidationError);
      await expect(kv.set("k", "v", { ttlMs: 0 })).rejects.toBeInstanceOf(ValidationError);
      await expect(kv.set("k", "v", { ttlMs: 2.5 })).rejects.toBeInstanceOf(ValidationError);
      await expect(kv.set("k", 42 as unknown as string)).rejects.toBeInstanceOf(ValidationError);
      await expect(kv.increment("n", { by: 1.5 })).rejects.toBeInstanceOf(ValidationError);
      await expect(kv.increment("n", { ttlMs: -1 })).rejects.toBeInstanceOf(ValidationError);
      await expect(kv.delete("")).rejects.toBeInstanceOf(ValidationError);
      await expect(kv.ttlMs("x".repeat(1025))).rejects.toBeInstanceOf(ValidationError);

      for (const badEnv of ["", "a:b", "prod uction"]) {
        expect(() => h.store(badEnv)).toThrow(ValidationError);
      }
      expect(await h.raw.keys(`ballast:${env}:*`)).toEqual([]);
    });

    it("a closed store rejects every operation", async () => {
      const store = h.store(freshEnv());
      const kv = store.kv("docs");
      await store.close();
      await store.close();
      for (const op of [
        () => kv.get("k"),
        () => kv.set("k", "v"),
        () => store.acquireLock("l", 1_000),
        () => store.ping(),
      ]) {
        const error = await op().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(UnavailableError);
        expect((error as UnavailableError).code).toBe("redis_closed");
      }
    });
  });

  it("answers ping", async () => {
    const { latencyMs } = await h.store(freshEnv()).ping();
    expect(latencyMs).toBeGreaterThanOrEqual(0);
  });
}

for (const backend of [memoryBackend(), upstashBackend()]) {
  describe.skipIf(backend.skip)(`RedisStore contract: ${backend.name}`, () => {
    redisContract(backend);
  });
}

describe.skipIf(redisServerBinary() === null)("Upstash store failures", () => {
  const TOKEN = "tok_secret_7f3a9c1e5b";

  it("a dead Upstash URL gives a retryable UnavailableError without the token", async () => {
    const port = await freePort(); // nothing listens there now
    const store = createRedisStore({
      backend: "upstash",
      url: `http://127.0.0.1:${port}`,
      token: TOKEN,
      env: "test",
      retries: 1,
    });
    const operations: [string, () => Promise<unknown>][] = [
      ["get", () => store.kv("docs").get("k")],
      ["set", () => store.kv("docs").set("k", "v", { ttlMs: 1_000 })],
      ["increment", () => store.kv("docs").increment("n", { ttlMs: 1_000 })],
      ["lock", () => store.acquireLock("l", 1_000)],
      [
        "rate limit",
        () =>
          store
            .rateLimiter("api", { algorithm: "sliding-window", limit: 1, windowMs: 1_000 })
            .limit("u"),
      ],
      ["ping", () => store.ping()],
    ];
    for (const [name, op] of operations) {
      const error = await op().catch((e: unknown) => e);
      expect(error, name).toBeInstanceOf(UnavailableError);
      const unavailable = error as UnavailableError;
      expect(unavailable.code).toBe("redis_unavailable");
      expect(unavailable.retryable).toBe(true);
      expect(unavailable.status).toBe(503);
      expect(unavailable.message).toContain(`127.0.0.1:${port}`);
      expect(unavailable.message).not.toContain(TOKEN);
      expect(JSON.stringify(unavailable)).not.toContain(TOKEN);
      expect(String(unavailable.stack)).not.toContain(TOKEN);
    }
  });

  it("an Upstash that never answers gives UnavailableError once the request timeout passes", async () => {
    const silent = createServer(() => {
      // Accepts the request and never answers.
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const store = createRedisStore({
        backend: "upstash",
        url: `http://127.0.0.1:${port}`,
        token: TOKEN,
        env: "test",
        requestTimeoutMs: 200,
      });
      const error = await store
        .kv("docs")
        .get("k")
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as UnavailableError).code).toBe("redis_unavailable");
      expect((error as UnavailableError).message).toMatch(/timed out/);
      expect((error as UnavailableError).message).not.toContain(TOKEN);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  describe("against the bridge", () => {
    let server: RedisServer;
    let bridge: UpstashBridge;
    beforeAll(async () => {
      server = await startRedisServer();
      bridge = await startUpstashBridge({ redisUrl: server.url, token: TOKEN });
    });
    afterAll(async () => {
      await bridge?.close();
      await server?.stop();
    });

    it("a wrong token is an UnavailableError that names neither token", async () => {
      const wrong = "tok_wrong_0b1c2d3e4f";
      const store = createRedisStore({
        backend: "upstash",
        url: bridge.url,
        token: wrong,
        env: "test",
      });
      const error = await store
        .kv("docs")
        .get("k")
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as UnavailableError).message).toMatch(/Unauthorized/);
      expect((error as UnavailableError).message).not.toContain(wrong);
      expect((error as UnavailableError).message).not.toContain(TOKEN);
    });

    it("redis going down behind Upstash gives UnavailableError, and the store recovers after", async () => {
      const own = await startRedisServer();
      const ownBridge = await startUpstashBridge({ redisUrl: own.url, token: TOKEN });
      const store = createRedisStore({
        backend: "upstash",
        url: ownBridge.url,
        token: TOKEN,
        env: "test",
      });
      try {
        await store.kv("docs").set("k", "before");
        await own.stop();
        for (const op of [
          () => store.kv("docs").get("k"),
          () => store.acquireLock("l", 1_000),
          () =>
            store
              .rateLimiter("api", { algorithm: "token-bucket", limit: 1, windowMs: 1_000 })
              .limit("u"),
        ]) {
          const error = await op().catch((e: unknown) => e);
          expect(error).toBeInstanceOf(UnavailableError);
          expect((error as UnavailableError).code).toBe("redis_unavailable");
          expect((error as UnavailableError).message).not.toContain(TOKEN);
        }
        const restarted = await startRedisServer({ port: own.port });
        try {
          let value: string | null | undefined;
          for (let i = 0; i < 100 && value === undefined; i++) {
            value = await store
              .kv("docs")
              .set("k", "after")
              .then(() => store.kv("docs").get("k"))
              .catch(() => sleep(100).then(() => undefined));
          }
          expect(value).toBe("after");
        } finally {
          await restarted.stop();
        }
      } finally {
        await ownBridge.close();
        await own.stop();
      }
    });

    it("rejects invalid options before any request", () => {
      expect(() =>
        createRedisStore({ backend: "upstash", url: "ftp://x", token: TOKEN, env: "test" }),
      ).toThrow(ValidationError);
      expect(() =>
        createRedisStore({ backend: "upstash", url: bridge.url, token: "", env: "test" }),
      ).toThrow(ValidationError);
      expect(() =>
        createRedisStore({ backend: "upstash", url: bridge.url, token: " a b ", env: "test" }),
      ).toThrow(ValidationError);
      expect(() => createRedisStore({ backend: "nope" } as never)).toThrow(ValidationError);
      try {
        createRedisStore({ backend: "upstash", url: "not a url", token: TOKEN, env: "test" });
      } catch (error) {
        expect(String(error)).not.toContain(TOKEN);
      }
    });
  });
});
