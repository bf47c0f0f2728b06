/**
 * Generic retry with exponential backoff and jitter.
 *
 * Hand-written rather than built on p-retry: p-retry computes every delay itself, so it cannot
 * wait for the delay a server asked for (`Retry-After`) and cannot tell `onRetry` how long it is
 * about to wait. Both matter for rate-limited APIs, and the loop is short.
 *
 * - An error is retried when `isRetryable(error)` says so (default: `isRetryable` from
 *   lib/errors.ts: BallastErrors carry `retryable`, unknown errors count as retryable).
 * - An error carrying `retryAfterMs` (a number, e.g. ProviderError from a 429 with Retry-After)
 *   is retried after exactly that delay instead of the backoff. When the server asks for more
 *   than `maxRetryAfterMs`, the error is thrown at once: waiting that long in-process is worse
 *   than letting the caller (an Inngest step, the CLI) retry later.
 * - Otherwise the delay before retry n (1-based) is "equal jitter":
 *   `d = min(maxDelayMs, baseDelayMs * 2^(n-1))`, waited as `d/2 + random() * d/2`.
 * - An aborted `signal` stops everything at once, also during a wait, and rejects with the
 *   signal's reason.
 */
import { isRetryable as defaultIsRetryable, errorMessage } from "../errors";

export interface RetryInfo {
  /** Number of the retry about to happen: 1 for the first retry. */
  attempt: number;
  /** How long we wait before it. */
  delayMs: number;
  /** The failure that caused it. */
  error: unknown;
  message: string;
}

export interface RetryOptions {
  /** Retries after the first attempt; 0 means try once. */
  maxRetries: number;
  /** Backoff before the first retry (before jitter). Default 500. */
  baseDelayMs?: number;
  /** Cap on the backoff delay. Default 20,000. */
  maxDelayMs?: number;
  /** Longest server-requested delay (`retryAfterMs`) we wait for in-process. Default 60,000. */
  maxRetryAfterMs?: number;
  signal?: AbortSignal;
  onRetry?: (info: RetryInfo) => void;
  isRetryable?: (error: unknown) => boolean;
  /** Source of jitter in [0, 1). Default Math.random. */
  random?: () => number;
}

export const RETRY_DEFAULTS = {
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  maxRetryAfterMs: 60_000,
} as const;

export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const maxRetries = Math.max(0, Math.floor(options.maxRetries));
  const baseDelayMs = options.baseDelayMs ?? RETRY_DEFAULTS.baseDelayMs;
  const maxDelayMs = options.maxDelayMs ?? RETRY_DEFAULTS.maxDelayMs;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? RETRY_DEFAULTS.maxRetryAfterMs;
  const retryable = options.isRetryable ?? defaultIsRetryable;
  const random = options.random ?? Math.random;
  const { signal } = options;

  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (attempt >= maxRetries || !retryable(error)) throw error;
      const requested = retryAfterMsOf(error);
      let delayMs: number;
      if (requested !== undefined) {
        if (requested > maxRetryAfterMs) throw error;
        delayMs = requested;
      } else {
        const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
        delayMs = Math.round(ceiling / 2 + random() * (ceiling / 2));
      }
      options.onRetry?.({ attempt: attempt + 1, delayMs, error, message: errorMessage(error) });
      await sleep(delayMs, signal);
    }
  }
}

function retryAfterMsOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || !("retryAfterMs" in error)) return undefined;
  const value = (error as { retryAfterMs: unknown }).retryAfterMs;
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The delay a server asked for, in milliseconds, from the response headers, or undefined:
 * `retry-after-ms` (milliseconds; sent by OpenAI and Azure OpenAI), else `Retry-After` as
 * delay-seconds or as an HTTP-date (RFC 9110 §10.2.3; a date in the past means 0).
 */
export function retryAfterMsFromHeaders(
  headers: Headers,
  options: { now?: number } = {},
): number | undefined {
  const ms = headers.get("retry-after-ms");
  if (ms !== null && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.ceil(Number(ms));

  const after = headers.get("retry-after");
  if (after !== null) {
    const trimmed = after.trim();
    if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
    const date = Date.parse(trimmed);
    if (!Number.isNaN(date)) return Math.max(0, date - (options.now ?? Date.now()));
  }
  return undefined;
}

/**
 * When OpenAI's request and token quotas refill, from `x-ratelimit-reset-requests` and
 * `x-ratelimit-reset-tokens` (durations such as "20ms", "1s", "6m0s"): the longer of the two,
 * or undefined. A hint for a 429 that carries no Retry-After; it says when the quota is full
 * again, which can be much later than when a retry would succeed.
 */
export function rateLimitResetMsFromHeaders(headers: Headers): number | undefined {
  let longest: number | undefined;
  for (const name of ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]) {
    const value = headers.get(name);
    const parsed = value === null ? undefined : parseDuration(value);
    if (parsed !== undefined) longest = Math.max(longest ?? 0, parsed);
  }
  return longest;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses Go-style durations as OpenAI sends them: "20ms", "1.5s", "6m0s", "1h2m3s". */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const match of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(match[1]) * (DURATION_UNITS[match[2] ?? ""] ?? 0);
  }
  return Math.ceil(total);
}
