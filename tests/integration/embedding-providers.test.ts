import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createEmbeddingProvider,
  type EmbeddingOptions,
  type EmbeddingProvider,
  OPENAI_MAX_INPUT_TOKENS,
  type RetryNotice,
} from "../../lib/embedding";
import { ProviderError, ValidationError } from "../../lib/errors";
import { FakeCohere, startFakeCohere } from "../support/fake-cohere";
import type { FakeEmbeddingServer } from "../support/fake-embedding-server";
import { FakeOpenAI, startFakeOpenAI } from "../support/fake-openai";

const OPENAI_KEY = "sk-test-ballast-0123456789abcdef";
const COHERE_KEY = "co-test-ballast-0123456789abcdef";

let openai: FakeOpenAI;
let cohere: FakeCohere;

beforeAll(async () => {
  openai = await startFakeOpenAI({ apiKey: OPENAI_KEY, extraModels: { "acme-embed": 64 } });
  cohere = await startFakeCohere({ apiKey: COHERE_KEY });
});
afterAll(async () => {
  await openai?.close();
  await cohere?.close();
});
beforeEach(() => {
  openai.reset();
  cohere.reset();
});

function options(
  provider: "openai" | "cohere",
  overrides: Partial<EmbeddingOptions> = {},
): EmbeddingOptions {
  return {
    provider,
    model: provider === "openai" ? "text-embedding-3-small" : "embed-v4.0",
    dimensions: 256,
    batchSize: 96,
    openai: { apiKey: OPENAI_KEY, baseUrl: openai.baseUrl },
    cohere: { apiKey: COHERE_KEY, baseUrl: cohere.baseUrl },
    timeoutMs: 5_000,
    maxRetries: 3,
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 20,
    ...overrides,
  };
}

/** Max absolute difference between a vector and the fake's expected one. */
function distance(actual: Float32Array | undefined, expected: number[]): number {
  if (!actual || actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let max = 0;
  for (let i = 0; i < expected.length; i++) {
    max = Math.max(max, Math.abs((actual[i] ?? 0) - (expected[i] ?? 0)));
  }
  return max;
}

function norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject");
}

interface Harness {
  name: "openai" | "cohere";
  fake: () => FakeEmbeddingServer;
  key: string;
  expected: (text: string, dims: number) => number[];
}

const harnesses: Harness[] = [
  {
    name: "openai",
    fake: () => openai,
    key: OPENAI_KEY,
    expected: (text, dims) => FakeOpenAI.vector("text-embedding-3-small", text, dims),
  },
  {
    name: "cohere",
    fake: () => cohere,
    key: COHERE_KEY,
    expected: (text, dims) => FakeCohere.vector("embed-v4.0", "search_document", text, dims),
  },
];

describe.each(harnesses)("$name provider against its fake server", (h) => {
  function make(overrides: Partial<EmbeddingOptions> = {}, notices?: RetryNotice[]) {
    return createEmbeddingProvider(
      options(h.name, { onRetry: notices ? (n) => notices.push(n) : undefined, ...overrides }),
    );
  }

  it("answers one unit vector per text, in order, in the configured space", async () => {
    const e = make();
    expect(e.provider).toBe(h.name);
    expect(e.space).toBe(`${h.name}:${e.model}:256`);
    const texts = ["alpha beta", "gamma", "delta epsilon zeta"];
    const { vectors, usage } = await e.embedDocuments(texts);
    expect(vectors).toHaveLength(3);
    texts.forEach((text, i) => {
      expect(distance(vectors[i], h.expected(text, 256))).toBeLessThan(1e-6);
      expect(norm(vectors[i] as Float32Array)).toBeCloseTo(1, 5);
    });
    expect(usage).toMatchObject({ requests: 1, retries: 0 });
    expect(usage.tokens).toBe(h.fake().requests[0]?.billedTokens);
    expect(h.fake().requests[0]?.headers.authorization).toBe(`Bearer ${h.key}`);
  });

  it("sends no request for no texts, and sends an empty text as a space", async () => {
    const e = make();
    const none = await e.embedDocuments([]);
    expect(none.vectors).toEqual([]);
    expect(none.usage).toEqual({ tokens: 0, costUsd: 0, requests: 0, retries: 0 });
    expect(h.fake().requests).toHaveLength(0);
    // Both real APIs reject empty strings; the fakes do too (400), so this would fail without it.
    const { vectors } = await e.embedDocuments(["", "text"]);
    expect(distance(vectors[0], h.expected(" ", 256))).toBeLessThan(1e-6);
  });

  it("honours Retry-After on a 429, then succeeds", async () => {
    const notices: RetryNotice[] = [];
    // A long backoff (2.5-5 s): a retry after 0 ms proves the server's value was used.
    const e = make({ retryBaseDelayMs: 5_000, retryMaxDelayMs: 5_000 }, notices);
    h.fake().script({
      kind: "status",
      status: 429,
      headers: { "retry-after": "0" },
      body: { message: "rate limited" },
    });
    const { vectors, usage } = await e.embedDocuments(["one", "two"]);
    expect(vectors).toHaveLength(2);
    expect(notices).toEqual([
      expect.objectContaining({ provider: h.name, attempt: 1, delayMs: 0, status: 429 }),
    ]);
    expect(notices[0]?.message).toContain("rate limited");
    expect(usage).toMatchObject({ requests: 2, retries: 1 });
    expect(h.fake().requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it("honours retry-after-ms on a 429", async () => {
    const notices: RetryNotice[] = [];
    const e = make({ retryBaseDelayMs: 5_000, retryMaxDelayMs: 5_000 }, notices);
    h.fake().script({ kind: "status", status: 429, headers: { "retry-after-ms": "30" } });
    await e.embedDocuments(["one"]);
    expect(notices.map((n) => n.delayMs)).toEqual([30]);
  });

  it("fails at once, retryable, when Retry-After is longer than it will wait", async () => {
    const notices: RetryNotice[] = [];
    const e = make({ maxRetryAfterMs: 1_000 }, notices);
    h.fake().script({ kind: "status", status: 429, headers: { "retry-after": "3600" } });
    const error = await rejection(e.embedDocuments(["one"]));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ httpStatus: 429, retryable: true, retryAfterMs: 3_600_000 });
    expect(notices).toEqual([]);
    expect(h.fake().requests).toHaveLength(1);
  });

  it("retries 5xx with backoff, then succeeds", async () => {
    const notices: RetryNotice[] = [];
    const e = make({ retryBaseDelayMs: 8, retryMaxDelayMs: 1_000 }, notices);
    h.fake().script(
      { kind: "status", status: 500, body: { message: "internal error" } },
      { kind: "status", status: 503, body: { message: "overloaded" } },
    );
    const { vectors, usage } = await e.embedDocuments(["one", "two", "three"]);
    expect(vectors).toHaveLength(3);
    expect(notices.map((n) => [n.attempt, n.status])).toEqual([
      [1, 500],
      [2, 503],
    ]);
    // Backoff ceilings 8 and 16 ms, full jitter: anywhere from 0 to the ceiling.
    expect(notices[0]?.delayMs).toBeGreaterThanOrEqual(0);
    expect(notices[0]?.delayMs).toBeLessThanOrEqual(8);
    expect(notices[1]?.delayMs).toBeGreaterThanOrEqual(0);
    expect(notices[1]?.delayMs).toBeLessThanOrEqual(16);
    expect(usage).toMatchObject({ requests: 3, retries: 2 });
    expect(usage.tokens).toBe(h.fake().requests[2]?.billedTokens);
  });

  it("gives up after maxRetries with a retryable ProviderError", async () => {
    const notices: RetryNotice[] = [];
    const e = make({ maxRetries: 2 }, notices);
    h.fake().script(
      { kind: "status", status: 503 },
      { kind: "status", status: 502 },
      { kind: "status", status: 500, body: { message: "still broken" } },
    );
    const error = await rejection(e.embedDocuments(["one"]));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({
      httpStatus: 500,
      retryable: true,
      code: `${h.name}_error`,
    });
    expect((error as Error).message).toContain("still broken");
    expect(notices).toHaveLength(2);
    expect(h.fake().requests).toHaveLength(3);
  });

  it("fails at once on 401, non-retryable, with no key in the message", async () => {
    const wrongKey = `${h.key.slice(0, 3)}wrong-key-9876543210zyxwvu`;
    const notices: RetryNotice[] = [];
    const e = createEmbeddingProvider(
      options(h.name, {
        openai: { apiKey: wrongKey, baseUrl: openai.baseUrl },
        cohere: { apiKey: wrongKey, baseUrl: cohere.baseUrl },
        onRetry: (n) => notices.push(n),
      }),
    );
    const error = await rejection(e.embedDocuments(["one"]));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ httpStatus: 401, retryable: false });
    const message = (error as Error).message;
    expect(message).toContain("HTTP 401");
    // The fake echoes the key it got; the client must have scrubbed it.
    expect(h.fake().requests).toHaveLength(1);
    expect(message).not.toContain(wrongKey);
    expect(message).not.toContain(h.key);
    expect(JSON.stringify(error)).not.toContain(wrongKey);
    expect(String((error as Error).stack)).not.toContain(wrongKey);
    expect(notices).toEqual([]);
  });

  it("fails at once on another 4xx", async () => {
    const e = make();
    h.fake().script({ kind: "status", status: 400, body: { message: "invalid request: nope" } });
    const error = await rejection(e.embedDocuments(["one"]));
    expect(error).toMatchObject({ httpStatus: 400, retryable: false });
    expect(h.fake().requests).toHaveLength(1);
  });

  it.each([
    ["wrong-dimensions", /dimensions/],
    ["wrong-count", /expected 2 vectors, got 1/],
    ["malformed", /not JSON/],
  ] as const)("rejects an answer with %s, without retrying", async (kind, pattern) => {
    const notices: RetryNotice[] = [];
    const e = make({}, notices);
    h.fake().script({ kind });
    const error = await rejection(e.embedDocuments(["one", "two"]));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ retryable: false });
    expect((error as Error).message).toMatch(pattern);
    expect(notices).toEqual([]);
    expect(h.fake().requests).toHaveLength(1);
  });

  it("retries a request that times out", async () => {
    const notices: RetryNotice[] = [];
    const e = make({ timeoutMs: 200 }, notices);
    h.fake().script({ kind: "delay", ms: 3_000 });
    const { vectors, usage } = await e.embedDocuments(["slow"]);
    expect(distance(vectors[0], h.expected("slow", 256))).toBeLessThan(1e-6);
    expect(notices).toHaveLength(1);
    expect(notices[0]?.status).toBeUndefined();
    expect(notices[0]?.message).toMatch(/timed out after 200 ms/);
    expect(usage).toMatchObject({ requests: 2, retries: 1 });
  });

  it("retries when the connection drops", async () => {
    const notices: RetryNotice[] = [];
    const e = make({}, notices);
    h.fake().script({ kind: "hang-up" });
    const { vectors } = await e.embedDocuments(["dropped"]);
    expect(vectors).toHaveLength(1);
    expect(notices).toHaveLength(1);
    expect(notices[0]?.status).toBeUndefined();
  });

  it("a network error that persists is a retryable ProviderError", async () => {
    const e = createEmbeddingProvider(
      options(h.name, {
        maxRetries: 1,
        openai: { apiKey: OPENAI_KEY, baseUrl: "http://127.0.0.1:9/v1" },
        cohere: { apiKey: COHERE_KEY, baseUrl: "http://127.0.0.1:9" },
      }),
    );
    const error = await rejection(e.embedDocuments(["one"]));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ httpStatus: undefined, retryable: true });
    expect((error as Error).message).toMatch(/request failed/);
  });

  it("stops when the caller aborts, without retrying", async () => {
    const notices: RetryNotice[] = [];
    const e = make({}, notices);
    h.fake().script({ kind: "delay", ms: 5_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("shutting down")), 50);
    const error = await rejection(e.embedDocuments(["one"], { signal: controller.signal }));
    expect((error as Error).message).toBe("shutting down");
    expect(notices).toEqual([]);
  });

  it("refuses to start without an API key", () => {
    expect(() =>
      createEmbeddingProvider(
        options(h.name, {
          openai: { baseUrl: openai.baseUrl },
          cohere: { baseUrl: cohere.baseUrl },
        }),
      ),
    ).toThrow(new RegExp(`${h.name}.apiKey: required`));
  });
});

describe("openai specifics", () => {
  function make(overrides: Partial<EmbeddingOptions> = {}): EmbeddingProvider {
    return createEmbeddingProvider(options("openai", overrides));
  }

  it("splits into batches of batchSize and accounts tokens and cost", async () => {
    const e = make({ batchSize: 2 });
    const texts = ["first text", "second text here", "third", "fourth one", "fifth"];
    const { vectors, usage } = await e.embedDocuments(texts);
    expect(openai.inputsPerRequest()).toEqual([
      ["first text", "second text here"],
      ["third", "fourth one"],
      ["fifth"],
    ]);
    expect(vectors).toHaveLength(5);
    texts.forEach((text, i) => {
      expect(
        distance(vectors[i], FakeOpenAI.vector("text-embedding-3-small", text, 256)),
      ).toBeLessThan(1e-6);
    });
    const billed = openai.requests.reduce((sum, r) => sum + (r.billedTokens ?? 0), 0);
    expect(usage.tokens).toBe(billed);
    expect(usage.tokens).toBe(texts.reduce((sum, t) => sum + e.countTokens(t), 0));
    expect(usage.costUsd).toBeCloseTo((billed * 0.02) / 1e6, 12);
    expect(usage).toMatchObject({ requests: 3, retries: 0 });
    expect(openai.requests[0]?.body).toEqual({
      model: "text-embedding-3-small",
      input: ["first text", "second text here"],
      dimensions: 256,
      encoding_format: "float",
    });
  });

  it("prices the models from the list, and an override wins", () => {
    expect(make().costUsd(1_000_000)).toBeCloseTo(0.02, 12);
    expect(make({ model: "text-embedding-3-large" }).costUsd(1_000_000)).toBeCloseTo(0.13, 12);
    expect(
      make({ model: "text-embedding-ada-002", dimensions: 1536 }).costUsd(2_000_000),
    ).toBeCloseTo(0.2, 12);
    expect(make({ costPerMillionTokens: 1.5 }).costUsd(1_000_000)).toBeCloseTo(1.5, 12);
  });

  it("sends no dimensions to ada-002", async () => {
    const e = make({ model: "text-embedding-ada-002", dimensions: 1536 });
    const { vectors } = await e.embedDocuments(["legacy"]);
    expect(vectors[0]?.length).toBe(1536);
    expect(openai.requests[0]?.body).not.toHaveProperty("dimensions");
  });

  it("serves a model it does not know at no cost unless a price is set", async () => {
    const free = make({ model: "acme-embed", dimensions: 64 });
    const { usage } = await free.embedDocuments(["a b c"]);
    expect(usage.tokens).toBeGreaterThan(0);
    expect(usage.costUsd).toBe(0);
    expect(openai.requests[0]?.body).not.toHaveProperty("dimensions");
    const priced = make({ model: "acme-embed", dimensions: 64, costPerMillionTokens: 2 });
    const second = await priced.embedDocuments(["a b c"]);
    expect(second.usage.costUsd).toBeCloseTo((second.usage.tokens * 2) / 1e6, 12);
  });

  it("cuts over-long inputs and splits requests by total tokens, so no request fails for size", async () => {
    const e = make({ batchSize: 2048 });
    const long = "lorem ipsum dolor sit amet ".repeat(4_000); // ~20,000 tokens
    const medium = "consectetur adipiscing elit sed do ".repeat(1_000); // ~6,000 tokens each
    const texts = [long, ...Array.from({ length: 50 }, (_, i) => `${i} ${medium}`)];
    expect(e.countTokens(long)).toBeGreaterThan(8192);
    const { vectors, usage } = await e.embedDocuments(texts);
    expect(vectors).toHaveLength(texts.length);
    for (const r of openai.requests) expect(r.status).toBe(200);
    expect(openai.requests.length).toBeGreaterThanOrEqual(2);
    const sent = openai.inputsPerRequest().flat();
    expect(sent).toHaveLength(texts.length);
    expect(e.countTokens(sent[0] as string)).toBeLessThanOrEqual(OPENAI_MAX_INPUT_TOKENS + 1);
    expect(long.startsWith(sent[0] as string)).toBe(true);
    for (const r of openai.requests) expect(r.billedTokens).toBeLessThanOrEqual(300_000);
    expect(usage.requests).toBe(openai.requests.length);
  });

  it("counts special-token text as plain text", () => {
    const e = make();
    expect(e.countTokens("<|endoftext|>")).toBeGreaterThan(1);
  });

  it("uses x-ratelimit-reset-* on a 429 without Retry-After", async () => {
    const notices: RetryNotice[] = [];
    const e = make({
      retryBaseDelayMs: 5_000,
      retryMaxDelayMs: 5_000,
      onRetry: (n) => notices.push(n),
    });
    openai.script({
      kind: "status",
      status: 429,
      headers: { "x-ratelimit-reset-requests": "12ms", "x-ratelimit-reset-tokens": "40ms" },
      body: {
        error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" },
      },
    });
    await e.embedDocuments(["one"]);
    expect(notices.map((n) => [n.status, n.delayMs])).toEqual([[429, 40]]);
    expect(notices[0]?.message).toContain("Rate limit reached");
  });

  it("caps a long quota-reset hint at the backoff cap instead of giving up", async () => {
    const notices: RetryNotice[] = [];
    const e = make({ retryMaxDelayMs: 30, onRetry: (n) => notices.push(n) });
    openai.script({
      kind: "status",
      status: 429,
      headers: { "x-ratelimit-reset-tokens": "6m0s" },
    });
    await e.embedDocuments(["one"]);
    expect(notices.map((n) => n.delayMs)).toEqual([30]);
  });

  it("rejects dimensions the model cannot produce", () => {
    expect(() => make({ model: "text-embedding-ada-002", dimensions: 512 })).toThrow(
      ValidationError,
    );
    expect(() => make({ model: "text-embedding-3-small", dimensions: 2000 })).toThrow(
      /at most 1536/,
    );
    expect(() => make({ openai: { apiKey: OPENAI_KEY, baseUrl: "ftp://x" } })).toThrow(/baseUrl/);
  });
});

describe("cohere specifics", () => {
  function make(overrides: Partial<EmbeddingOptions> = {}): EmbeddingProvider {
    return createEmbeddingProvider(options("cohere", overrides));
  }

  it("splits into batches of at most 96 and accounts billed tokens and cost", async () => {
    const e = make({ batchSize: 500 });
    const texts = Array.from({ length: 200 }, (_, i) => `document ${i} with some words`);
    const { vectors, usage } = await e.embedDocuments(texts);
    expect(cohere.inputsPerRequest().map((b) => b.length)).toEqual([96, 96, 8]);
    expect(vectors).toHaveLength(200);
    expect(
      distance(
        vectors[150],
        FakeCohere.vector("embed-v4.0", "search_document", texts[150] as string, 256),
      ),
    ).toBeLessThan(1e-6);
    const billed = texts.reduce((sum, t) => sum + FakeCohere.billedTokens(t), 0);
    expect(usage.tokens).toBe(billed);
    expect(usage.costUsd).toBeCloseTo((billed * 0.12) / 1e6, 12);
    expect(usage).toMatchObject({ requests: 3, retries: 0 });
    expect(cohere.requests[0]?.body).toMatchObject({
      model: "embed-v4.0",
      input_type: "search_document",
      embedding_types: ["float"],
      output_dimension: 256,
      truncate: "END",
    });
  });

  it("respects a smaller batchSize", async () => {
    const e = make({ batchSize: 3 });
    await e.embedDocuments(["a", "b", "c", "d"]);
    expect(cohere.inputsPerRequest()).toEqual([["a", "b", "c"], ["d"]]);
  });

  it("embeds queries as search_query", async () => {
    const e = make();
    const query = await e.embedQuery("how to parse json");
    expect(cohere.requests[0]?.body).toMatchObject({
      input_type: "search_query",
      texts: ["how to parse json"],
    });
    expect(
      distance(query, FakeCohere.vector("embed-v4.0", "search_query", "how to parse json", 256)),
    ).toBeLessThan(1e-6);
  });

  it("sends no output_dimension to v3 models and checks their size", async () => {
    const e = make({ model: "embed-english-v3.0", dimensions: 1024 });
    const { vectors, usage } = await e.embedDocuments(["hello world"]);
    expect(vectors[0]?.length).toBe(1024);
    expect(cohere.requests[0]?.body).not.toHaveProperty("output_dimension");
    expect(usage.costUsd).toBeCloseTo((usage.tokens * 0.1) / 1e6, 12);
    expect(() => make({ model: "embed-english-v3.0", dimensions: 256 })).toThrow(
      /always returns 1024/,
    );
    expect(() => make({ dimensions: 300 })).toThrow(/256, 512, 1024, 1536/);
  });

  it("estimates tokens at four characters each", () => {
    expect(make().countTokens("12345678")).toBe(2);
    expect(make().countTokens("123456789")).toBe(3);
    expect(make().countTokens("")).toBe(0);
  });
});
