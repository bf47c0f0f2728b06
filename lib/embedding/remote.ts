import { BallastError, errorMessage, ProviderError } from "../errors";
import { createScrubber } from "../log/scrub";
import {
  isRetryableError,
  RETRY_DEFAULTS,
  rateLimitResetMsFromHeaders,
  retry,
  retryAfterMsFromHeaders,
} from "../resilience/retry";
import type {
  EmbedCallOptions,
  EmbeddingBatchResult,
  EmbeddingOptions,
  EmbeddingProvider,
} from "./types";

export type InputType = "document" | "query";

export interface BatchAnswer {
  /** Raw vectors in input order, already checked for count and length. */
  vectors: number[][];
  /** Billed tokens as the API reported them (or our count when it reported none). */
  tokens: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_RETRIES = 5;
const MAX_ERROR_DETAIL = 300;

/**
 * What OpenAI and Cohere share: one JSON POST per batch with a Bearer key, a timeout per
 * attempt, retries (429 with its Retry-After, 408, 5xx, network errors, timeouts) through
 * lib/resilience/retry.ts, errors as ProviderError with the key scrubbed out, and the answer
 * checked and L2-normalised. Batches are sent one after another, never in parallel, which
 * keeps a single process well inside the providers' rate limits.
 */
export abstract class RemoteEmbedder implements EmbeddingProvider {
  readonly space: string;
  protected readonly fetchImpl: typeof fetch;
  protected readonly timeoutMs: number;
  protected readonly maxRetries: number;
  private readonly scrub: (text: string) => string;

  constructor(
    readonly provider: "openai" | "cohere",
    readonly model: string,
    readonly dimensions: number,
    protected readonly apiKey: string,
    private readonly usdPerMillionTokens: number,
    protected readonly options: EmbeddingOptions,
  ) {
    this.space = `${provider}:${model}:${dimensions}`;
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    this.scrub = createScrubber([apiKey]);
  }

  abstract countTokens(text: string): number;

  /**
   * Turns texts into what is sent (e.g. truncated to the model's input limit) and splits them
   * into request batches, each a list of indexes into `inputs`.
   */
  protected abstract plan(texts: string[]): { inputs: string[]; batches: number[][] };

  /** Sends one batch (one attempt) and returns its checked answer. */
  protected abstract requestBatch(
    inputs: string[],
    inputType: InputType,
    signal: AbortSignal,
  ): Promise<BatchAnswer>;

  costUsd(tokens: number): number {
    return (tokens * this.usdPerMillionTokens) / 1_000_000;
  }

  async embedDocuments(
    texts: string[],
    options: EmbedCallOptions = {},
  ): Promise<EmbeddingBatchResult> {
    return this.embed(texts, "document", options.signal);
  }

  async embedQuery(text: string, options: EmbedCallOptions = {}): Promise<Float32Array> {
    const { vectors } = await this.embed([text], "query", options.signal);
    const vector = vectors[0];
    if (!vector) throw this.invalid(200, "no vector in the answer");
    return vector;
  }

  private async embed(
    texts: string[],
    inputType: InputType,
    signal: AbortSignal | undefined,
  ): Promise<EmbeddingBatchResult> {
    const usage = { tokens: 0, costUsd: 0, requests: 0, retries: 0 };
    const vectors: Float32Array[] = new Array(texts.length);
    if (texts.length === 0) return { vectors, usage };
    const { inputs, batches } = this.plan(texts);
    for (const batch of batches) {
      const batchInputs = batch.map((i) => inputs[i] ?? " ");
      const { breaker, budget } = this.options;
      const batchTokens =
        budget && budget.policy.tokensPerMinute > 0
          ? batchInputs.reduce((sum, input) => sum + this.countTokens(input), 0)
          : 0;
      const answer = await retry(
        async (attempt) => {
          await budget?.acquire(batchTokens, signal);
          if (attempt > 0) usage.retries++;
          const call = () => {
            usage.requests++;
            return this.attempt(batchInputs, inputType, signal);
          };
          return breaker ? breaker.run(call) : call();
        },
        {
          maxRetries: this.maxRetries,
          baseDelayMs: this.options.retryBaseDelayMs ?? RETRY_DEFAULTS.baseDelayMs,
          maxDelayMs: this.options.retryMaxDelayMs ?? RETRY_DEFAULTS.maxDelayMs,
          maxRetryAfterMs: this.options.maxRetryAfterMs ?? RETRY_DEFAULTS.maxRetryAfterMs,
          signal,
          // Redis (the shared budget) failing is not the provider's fault: the caller's step
          // retries it, the provider is not asked again in-process.
          isRetryable: (error) =>
            isRetryableError(error) &&
            !(error instanceof BallastError && error.code.startsWith("redis_")),
          onRetry: ({ attempt, delayMs, error, message }) =>
            this.options.onRetry?.({
              provider: this.provider,
              attempt,
              delayMs,
              status: error instanceof ProviderError ? error.httpStatus : undefined,
              message,
            }),
        },
      );
      usage.tokens += answer.tokens;
      batch.forEach((textIndex, k) => {
        vectors[textIndex] = this.normalise(answer.vectors[k] ?? []);
      });
    }
    usage.costUsd = this.costUsd(usage.tokens);
    return { vectors, usage };
  }

  /** One attempt with its own timeout, joined with the caller's signal. */
  private async attempt(
    inputs: string[],
    inputType: InputType,
    callerSignal: AbortSignal | undefined,
  ): Promise<BatchAnswer> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
    try {
      return await this.requestBatch(inputs, inputType, signal);
    } catch (error) {
      if (callerSignal?.aborted) throw callerSignal.reason;
      if (error instanceof ProviderError) throw error;
      if (timeout.aborted) {
        throw new ProviderError(
          this.provider,
          undefined,
          `${this.provider} embeddings request timed out after ${this.timeoutMs} ms`,
        );
      }
      throw new ProviderError(
        this.provider,
        undefined,
        `${this.provider} embeddings request failed: ${this.scrub(describeNetworkError(error))}`,
        undefined,
        { cause: error },
      );
    }
  }

  /** POSTs JSON and returns the parsed JSON body of a 2xx answer; throws ProviderError otherwise. */
  protected async postJson(
    url: string,
    body: unknown,
    signal: AbortSignal,
  ): Promise<{ status: number; json: unknown }> {
    const response = await this.fetchImpl(url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${this.apiKey}`,
        "content-type": "application/json",
        accept: "application/json",
      },
      body: JSON.stringify(body),
      signal,
    });
    const text = await response.text();
    if (!response.ok) {
      const status = response.status;
      const retryAfterMs = this.retryAfterMs(status, response.headers);
      const detail = this.scrub(errorDetail(text)).slice(0, MAX_ERROR_DETAIL);
      throw new ProviderError(
        this.provider,
        status,
        `${this.provider} embeddings request failed: HTTP ${status}${detail ? `: ${detail}` : ""}`,
        retryAfterMs,
      );
    }
    try {
      return { status: response.status, json: JSON.parse(text) as unknown };
    } catch {
      throw this.invalid(response.status, "the answer is not JSON");
    }
  }

  /**
   * How long to wait before retrying a failed status: the server's Retry-After (429, 503, 408),
   * else, on a 429, OpenAI's quota-reset hint capped at the backoff cap (it says when the quota
   * is full again, not when a retry first succeeds), else undefined (the backoff decides).
   */
  private retryAfterMs(status: number, headers: Headers): number | undefined {
    if (status !== 429 && status !== 503 && status !== 408) return undefined;
    const requested = retryAfterMsFromHeaders(headers);
    if (requested !== undefined || status !== 429) return requested;
    const reset = rateLimitResetMsFromHeaders(headers);
    const cap = this.options.retryMaxDelayMs ?? RETRY_DEFAULTS.maxDelayMs;
    return reset === undefined ? undefined : Math.min(reset, cap);
  }

  /** A well-formed HTTP answer with the wrong content: retrying will not change it. */
  protected invalid(status: number, problem: string): ProviderError {
    return new ProviderError(
      this.provider,
      status,
      `${this.provider} returned an invalid embeddings answer (model ${this.model}): ${problem}`,
    );
  }

  /** Checks count and length of every vector; throws a non-retryable ProviderError if wrong. */
  protected checkVectors(status: number, vectors: unknown, expected: number): number[][] {
    if (!Array.isArray(vectors)) throw this.invalid(status, "no list of vectors");
    if (vectors.length !== expected) {
      throw this.invalid(status, `expected ${expected} vectors, got ${vectors.length}`);
    }
    vectors.forEach((vector: unknown, i) => {
      if (!Array.isArray(vector)) throw this.invalid(status, `vector ${i} is not an array`);
      if (vector.length !== this.dimensions) {
        throw this.invalid(
          status,
          `vector ${i} has ${vector.length} dimensions, expected ${this.dimensions}`,
        );
      }
      for (const value of vector) {
        if (typeof value !== "number" || !Number.isFinite(value)) {
          throw this.invalid(status, `vector ${i} holds a value that is not a finite number`);
        }
      }
      if (vector.every((value) => value === 0)) {
        throw this.invalid(status, `vector ${i} is all zeros`);
      }
    });
    return vectors as number[][];
  }

  private normalise(vector: number[]): Float32Array {
    let sumSquares = 0;
    for (const value of vector) sumSquares += value * value;
    const scale = sumSquares > 0 ? 1 / Math.sqrt(sumSquares) : 0;
    const out = new Float32Array(vector.length);
    for (let i = 0; i < vector.length; i++) out[i] = (vector[i] ?? 0) * scale;
    return out;
  }
}

/** The API's own error message from an error body (OpenAI `{error:{message}}`, Cohere `{message}`). */
function errorDetail(text: string): string {
  try {
    const body = JSON.parse(text) as unknown;
    if (body && typeof body === "object") {
      const record = body as Record<string, unknown>;
      const nested = record.error;
      if (nested && typeof nested === "object") {
        const message = (nested as Record<string, unknown>).message;
        if (typeof message === "string") return message;
      }
      if (typeof nested === "string") return nested;
      if (typeof record.message === "string") return record.message;
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.replace(/\s+/g, " ").trim();
}

function describeNetworkError(error: unknown): string {
  const cause = error instanceof Error ? (error as Error & { cause?: unknown }).cause : undefined;
  const code =
    cause && typeof cause === "object" && "code" in cause ? String(cause.code) : undefined;
  return code ? `${errorMessage(error)} (${code})` : errorMessage(error);
}
