import { describe, expect, it } from "vitest";
import { BreakerOpenError, ProviderError, ValidationError } from "../../lib/errors";
import { ProviderBudget } from "../../lib/limits/budget";
import { createRedisStore, MemoryKeyspace } from "../../lib/redis";
import {
  BREAKER_DEFAULTS,
  BreakerRegistry,
  CircuitBreaker,
  parseBreakerOverrides,
} from "../../lib/resilience/breaker";
import { classifyError } from "../../lib/resilience/retry";

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const down = () => Promise.reject(new ProviderError("openai", 500, "boom"));
const up = () => Promise.resolve("ok");

function breakerPair() {
  const time = clock();
  // Two instances sharing one keyspace: what one learns, the other sees.
  const keyspace = new MemoryKeyspace({ now: time.now });
  const a = new CircuitBreaker(
    "embedding:openai",
    createRedisStore({ backend: "memory", env: "test", keyspace }),
    BREAKER_DEFAULTS,
    time.now,
  );
  const b = new CircuitBreaker(
    "embedding:openai",
    createRedisStore({ backend: "memory", env: "test", keyspace }),
    BREAKER_DEFAULTS,
    time.now,
  );
  return { a, b, time };
}

describe("circuit breaker", () => {
  it("opens after 5 consecutive failures, fails fast with a retry time, on every instance", async () => {
    const { a, b, time } = breakerPair();
    let calls = 0;
    const failing = () => {
      calls++;
      return down();
    };
    for (let i = 0; i < 5; i++) await expect(a.run(failing)).rejects.toBeInstanceOf(ProviderError);
    expect(calls).toBe(5);
    expect(await b.state()).toBe("open");
    const error = await b.run(failing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BreakerOpenError);
    expect((error as BreakerOpenError).retryAfterMs).toBe(30_000);
    expect(classifyError(error)).toMatchObject({
      retryable: true,
      errorClass: "breaker_open",
      retryAfterMs: 30_000,
      dependency: "embedding:openai",
    });
    expect(calls).toBe(5); // the open breaker did not call
    time.advance(10_000);
    expect((await a.snapshot()).retryAt).toBe(new Date(time.now() + 20_000).toISOString());
  });

  it("half-open after 30 s lets exactly one probe through; success closes it", async () => {
    const { a, b, time } = breakerPair();
    for (let i = 0; i < 5; i++) await a.run(down).catch(() => {});
    time.advance(30_000);
    expect(await a.state()).toBe("half-open");
    let release: () => void = () => {};
    const slow = new Promise<string>((resolve) => {
      release = () => resolve("ok");
    });
    const probe = a.run(() => slow);
    // While the probe is out, the other instance still fails fast.
    await new Promise((r) => setTimeout(r, 5));
    await expect(b.run(up)).rejects.toBeInstanceOf(BreakerOpenError);
    release();
    expect(await probe).toBe("ok");
    expect(await b.state()).toBe("closed");
    expect(await b.run(up)).toBe("ok");
  });

  it("a failed probe opens it for another 30 s", async () => {
    const { a, time } = breakerPair();
    for (let i = 0; i < 5; i++) await a.run(down).catch(() => {});
    time.advance(30_001);
    await expect(a.run(down)).rejects.toBeInstanceOf(ProviderError);
    expect(await a.state()).toBe("open");
    time.advance(29_000);
    await expect(a.run(up)).rejects.toBeInstanceOf(BreakerOpenError);
    time.advance(1_001);
    expect(await a.run(up)).toBe("ok");
    expect(await a.state()).toBe("closed");
  });

  it("opens at a 50 % failure rate over 20 calls without 5 in a row", async () => {
    const { a } = breakerPair();
    for (let i = 0; i < 19; i++) {
      await (i % 2 === 0 ? a.run(down).catch(() => {}) : a.run(up));
      expect(await a.state()).toBe("closed");
    }
    await a.run(up); // call 20: 10 of 20 failed
    expect(await a.state()).toBe("open");
    expect((await a.snapshot()).reason).toMatch(/10 of the last 20 calls failed/);
  });

  it("stays closed at 45 % over 20 calls, and the window starts again", async () => {
    const { a } = breakerPair();
    const pattern = [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0]; // 9 failures
    for (const fail of pattern) await (fail ? a.run(down).catch(() => {}) : a.run(up));
    const snapshot = await a.snapshot();
    expect(snapshot.state).toBe("closed");
    expect(snapshot.windowCalls).toBe(0);
  });

  it("does not count 4xx, validation errors or 429s against the dependency", async () => {
    const { a } = breakerPair();
    for (let i = 0; i < 10; i++) {
      await a
        .run(() => Promise.reject(new ProviderError("openai", 400, "bad input")))
        .catch(() => {});
      await a.run(() => Promise.reject(new ValidationError("nope"))).catch(() => {});
      await a
        .run(() => Promise.reject(new ProviderError("openai", 429, "slow", 1000)))
        .catch(() => {});
    }
    expect(await a.state()).toBe("closed");
  });

  it("an operator's reset closes it at once", async () => {
    const { a } = breakerPair();
    for (let i = 0; i < 5; i++) await a.run(down).catch(() => {});
    await a.close();
    expect(await a.snapshot()).toMatchObject({ state: "closed", consecutiveFailures: 0 });
  });

  it("takes per-dependency settings", () => {
    const parsed = parseBreakerOverrides(
      "github:openMs=60000,failureThreshold=3;s3:failureRate=0.2",
    );
    expect(parsed.problems).toEqual([]);
    const registry = new BreakerRegistry(
      createRedisStore({ backend: "memory", env: "test" }),
      BREAKER_DEFAULTS,
      parsed.overrides,
    );
    expect(registry.get("github").options).toMatchObject({ openMs: 60_000, failureThreshold: 3 });
    expect(registry.get("s3").options.failureRate).toBe(0.2);
    expect(registry.get("embedding:openai").options).toEqual(BREAKER_DEFAULTS);
    expect(parseBreakerOverrides("nope:openMs=1").problems).toHaveLength(1);
    expect(parseBreakerOverrides("github:openMs=-1").problems).toHaveLength(1);
    expect(parseBreakerOverrides("github:failureRate=2").problems).toHaveLength(1);
    expect(parseBreakerOverrides("github:bogus=1").problems).toHaveLength(1);
  });
});

describe("provider budget", () => {
  it("shares a token budget per window: a reservation over it waits for the next window", async () => {
    const keyspace = new MemoryKeyspace();
    const store = createRedisStore({ backend: "memory", env: "test", keyspace });
    const budget = new ProviderBudget("openai", store, {
      requestsPerMinute: 0,
      tokensPerMinute: 100,
      windowMs: 300,
    });
    const other = new ProviderBudget(
      "openai",
      createRedisStore({ backend: "memory", env: "test", keyspace }),
      budget.policy,
    );
    await budget.acquire(60);
    const started = Date.now();
    const window = Math.floor(started / 300);
    await other.acquire(60); // does not fit with the first 60 in this window
    expect(Math.floor(Date.now() / 300)).toBeGreaterThan(window);
    expect(other.waits).toBe(1);
    // Larger than the whole budget: let through alone in an empty window.
    await budget.acquire(500);
  });
});
