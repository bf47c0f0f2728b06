import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderError } from "../../lib/errors";
import { createRedisStore, type RedisStore } from "../../lib/redis";
import { BREAKER_DEFAULTS, CircuitBreaker } from "../../lib/resilience/breaker";
import { type RedisServer, redisServerBinary, startRedisServer } from "../support/redis-server";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge";

const print = (line: string) => process.stdout.write(`${line}\n`);

/**
 * What a breaker costs on Upstash, counted at the REST bridge in front of a real redis-server.
 * While it is closed and healthy a call waits for one round trip: its two reads and its call
 * count are issued at once, and the Upstash client's auto-pipelining sends them as two
 * concurrent pipelines (one for reads, one for writes) — before, three requests one after the
 * other. The semantics are unchanged: failures still open it at the threshold.
 */
describe.skipIf(redisServerBinary() === null)("breaker round trips on the Upstash store", () => {
  let server: RedisServer;
  let bridge: UpstashBridge;
  let store: RedisStore;

  beforeAll(async () => {
    server = await startRedisServer();
    bridge = await startUpstashBridge({ redisUrl: server.url });
    store = createRedisStore({
      backend: "upstash",
      url: bridge.url,
      token: bridge.token,
      env: "test",
    });
  });
  afterAll(async () => {
    await store?.close();
    await bridge?.close();
    await server?.stop();
  });

  it("waits one round trip per successful call (two concurrent pipelines), resets after a failure, and still opens", async () => {
    const breaker = new CircuitBreaker("github", store, { ...BREAKER_DEFAULTS, windowSize: 1000 });
    const ok = () => Promise.resolve("ok");
    const down = () => Promise.reject(new ProviderError("openai", 503, "down"));

    let before = bridge.requests;
    for (let i = 0; i < 10; i++) expect(await breaker.run(ok)).toBe("ok");
    const perSuccess = (bridge.requests - before) / 10;
    expect(perSuccess).toBe(2);

    // A failure: the check, then its two counters in one (write) pipeline.
    before = bridge.requests;
    await expect(breaker.run(down)).rejects.toThrow(/down/);
    const perFailure = bridge.requests - before;
    expect(perFailure).toBe(3);
    // The next success resets the consecutive count: one extra request, once.
    before = bridge.requests;
    await breaker.run(ok);
    const resetting = bridge.requests - before;
    expect(resetting).toBe(3);
    expect((await breaker.snapshot()).consecutiveFailures).toBe(0);

    // Five consecutive failures open it; then it fails fast after the one check.
    for (let i = 0; i < 5; i++) await breaker.run(down).catch(() => {});
    expect(await breaker.state()).toBe("open");
    before = bridge.requests;
    await expect(breaker.run(ok)).rejects.toThrow(/circuit breaker open/);
    expect(bridge.requests - before).toBe(2);
    print(
      `breaker on Upstash (bridge requests per call): success ${perSuccess} (concurrent: one round trip), failure ${perFailure}, first success after a failure ${resetting}, open (fail fast) 2`,
    );
  });
});
