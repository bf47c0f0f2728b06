import { describe, expect, it } from "vitest";
import { BadRequestError, ProviderError } from "../../lib/errors";
import {
  classifyError,
  parseDuration,
  type RetryInfo,
  rateLimitResetMsFromHeaders,
  retry,
  retryAfterMsFromHeaders,
} from "../../lib/resilience/retry";

/** A function failing with the given errors in turn, then answering "done". */
function failing(...errors: unknown[]) {
  let calls = 0;
  const fn = async (attempt: number) => {
    expect(attempt).toBe(calls);
    calls++;
    const error = errors.shift();
    if (error !== undefined) throw error;
    return "done";
  };
  return { fn, calls: () => calls };
}

describe("retry", () => {
  it("retries retryable failures with exponential backoff and jitter", async () => {
    const seen: RetryInfo[] = [];
    const { fn, calls } = failing(
      new ProviderError("x", 500, "boom"),
      new ProviderError("x", 503, "boom"),
      new Error("socket hang up"),
    );
    const result = await retry(fn, {
      maxRetries: 5,
      baseDelayMs: 4,
      maxDelayMs: 10,
      onRetry: (info) => seen.push(info),
    });
    expect(result).toBe("done");
    expect(calls()).toBe(4);
    expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3]);
    // ceilings 4, 8, min(10, 16): full jitter, each delay within [0, ceiling]
    const ceilings = [4, 8, 10];
    seen.forEach((s, i) => {
      expect(s.delayMs).toBeGreaterThanOrEqual(0);
      expect(s.delayMs).toBeLessThanOrEqual(ceilings[i] ?? 0);
    });
    expect(seen[2]?.message).toBe("socket hang up");
  });

  it("uses the jitter source it is given", async () => {
    const delays: number[] = [];
    const { fn } = failing(new Error("a"), new Error("b"));
    await retry(fn, {
      maxRetries: 2,
      baseDelayMs: 2,
      random: () => 0.5,
      onRetry: (i) => delays.push(i.delayMs),
    });
    // full jitter: random() × ceiling, ceilings 2 and 4
    expect(delays).toEqual([1, 2]);
  });

  it("waits what the server asked for instead of the backoff", async () => {
    const delays: number[] = [];
    const { fn } = failing(new ProviderError("x", 429, "slow down", 7));
    await retry(fn, {
      maxRetries: 3,
      baseDelayMs: 60_000,
      onRetry: (i) => delays.push(i.delayMs),
    });
    expect(delays).toEqual([7]);
  });

  it("gives up at once when the server asks for more than maxRetryAfterMs", async () => {
    const error = new ProviderError("x", 429, "come back tomorrow", 86_400_000);
    const { fn, calls } = failing(error);
    await expect(retry(fn, { maxRetries: 3, maxRetryAfterMs: 1000 })).rejects.toBe(error);
    expect(calls()).toBe(1);
  });

  it("does not retry non-retryable errors", async () => {
    const error = new BadRequestError("bad input");
    const { fn, calls } = failing(error);
    await expect(retry(fn, { maxRetries: 5, baseDelayMs: 1 })).rejects.toBe(error);
    expect(calls()).toBe(1);
    const unauthorized = new ProviderError("x", 401, "no");
    const second = failing(unauthorized);
    await expect(retry(second.fn, { maxRetries: 5, baseDelayMs: 1 })).rejects.toBe(unauthorized);
    expect(second.calls()).toBe(1);
  });

  it("throws the last error when retries run out", async () => {
    const last = new ProviderError("x", 502, "third");
    const { fn, calls } = failing(
      new ProviderError("x", 500, "first"),
      new ProviderError("x", 500, "second"),
      last,
    );
    await expect(retry(fn, { maxRetries: 2, baseDelayMs: 1 })).rejects.toBe(last);
    expect(calls()).toBe(3);
  });

  it("honours a custom isRetryable", async () => {
    const { fn, calls } = failing(new Error("permanent"));
    await expect(
      retry(fn, { maxRetries: 3, baseDelayMs: 1, isRetryable: () => false }),
    ).rejects.toThrow("permanent");
    expect(calls()).toBe(1);
  });

  it("stops waiting as soon as the signal aborts", async () => {
    const controller = new AbortController();
    const { fn, calls } = failing(new Error("a"), new Error("b"));
    const pending = retry(fn, {
      maxRetries: 5,
      baseDelayMs: 600_000,
      signal: controller.signal,
      onRetry: () => setImmediate(() => controller.abort(new Error("cancelled"))),
    });
    await expect(pending).rejects.toThrow("cancelled");
    expect(calls()).toBe(1);
  });

  it("does not start when the signal is already aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("too late"));
    const { fn, calls } = failing();
    await expect(retry(fn, { maxRetries: 1, signal: controller.signal })).rejects.toThrow(
      "too late",
    );
    expect(calls()).toBe(0);
  });
});

describe("retryAfterMsFromHeaders", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  const headers = (init: Record<string, string>) => new Headers(init);

  it("reads Retry-After as seconds or as an HTTP-date", () => {
    expect(retryAfterMsFromHeaders(headers({ "retry-after": "2" }))).toBe(2000);
    expect(retryAfterMsFromHeaders(headers({ "retry-after": " 0 " }))).toBe(0);
    expect(retryAfterMsFromHeaders(headers({ "retry-after": "1.5" }))).toBe(1500);
    expect(
      retryAfterMsFromHeaders(headers({ "retry-after": "Thu, 01 Jan 2026 00:00:30 GMT" }), { now }),
    ).toBe(30_000);
    // A date in the past means "now".
    expect(
      retryAfterMsFromHeaders(headers({ "retry-after": "Wed, 31 Dec 2025 23:59:00 GMT" }), { now }),
    ).toBe(0);
    expect(retryAfterMsFromHeaders(headers({ "retry-after": "soon" }))).toBeUndefined();
    expect(retryAfterMsFromHeaders(headers({}))).toBeUndefined();
  });

  it("prefers retry-after-ms", () => {
    expect(retryAfterMsFromHeaders(headers({ "retry-after-ms": "25", "retry-after": "9" }))).toBe(
      25,
    );
  });

  it("reads OpenAI's x-ratelimit-reset-* separately, taking the longer", () => {
    const h = headers({ "x-ratelimit-reset-requests": "20ms", "x-ratelimit-reset-tokens": "1.5s" });
    expect(retryAfterMsFromHeaders(h)).toBeUndefined();
    expect(rateLimitResetMsFromHeaders(h)).toBe(1500);
    expect(rateLimitResetMsFromHeaders(headers({ "x-ratelimit-reset-tokens": "junk" }))).toBe(
      undefined,
    );
  });

  it("parses Go-style durations", () => {
    expect(parseDuration("20ms")).toBe(20);
    expect(parseDuration("1s")).toBe(1000);
    expect(parseDuration("6m0s")).toBe(360_000);
    expect(parseDuration("1h2m3s")).toBe(3_723_000);
    expect(parseDuration("0.5s")).toBe(500);
    expect(parseDuration("")).toBeUndefined();
    expect(parseDuration("10")).toBeUndefined();
    expect(parseDuration("5 minutes")).toBeUndefined();
  });
});

describe("classifyError on database connection failures", () => {
  const wrapped = (cause: Error) =>
    Object.assign(new Error("Failed query: insert into chunks\nparams: "), { cause });

  it("classifies a lost or refused database connection as retryable, dependency database", () => {
    for (const error of [
      new Error("Connection terminated unexpectedly"),
      wrapped(new Error("Connection terminated unexpectedly")),
      Object.assign(new Error("terminating connection due to administrator command"), {
        code: "57P01",
      }),
      Object.assign(new Error("the database system is starting up"), { code: "57P03" }),
      wrapped(Object.assign(new Error("connection failure"), { code: "08006" })),
    ])
      expect(classifyError(error)).toEqual({
        retryable: true,
        errorClass: "unavailable",
        dependency: "database",
      });
  });

  it("treats a missing Unix socket as a network failure, a missing file as gone", () => {
    const socket = Object.assign(new Error("connect ENOENT /tmp/x/.s.PGSQL.5432"), {
      code: "ENOENT",
      syscall: "connect",
    });
    expect(classifyError(socket)).toMatchObject({ retryable: true, errorClass: "network" });
    const file = Object.assign(new Error("ENOENT: no such file"), {
      code: "ENOENT",
      syscall: "open",
    });
    expect(classifyError(file)).toMatchObject({ retryable: false, errorClass: "gone" });
    // Other SQL errors are not connection failures.
    const unique = Object.assign(new Error("duplicate key"), { code: "23505" });
    expect(classifyError(unique).dependency).toBeUndefined();
  });
});
