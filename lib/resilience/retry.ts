/**
 * The one retry classification of Ballast, and a generic retry with exponential backoff and
 * full jitter that honours a server's Retry-After.
 *
 * `classifyError` says what a failure is and whether a retry can help:
 *   retryable  timeouts, network resets, HTTP 408 / 429 / 5xx, an open circuit breaker,
 *              a dependency reported unavailable (any BallastError marked retryable),
 *              a lost or refused database connection (dependency `database`)
 *   permanent  other 4xx, validation errors, a file gone, anything marked non-retryable
 * Every adapter (embedding providers, the step drivers, the error-recovery workflow) asks it,
 * and inngest/workflow.ts maps it once to Inngest's RetryAfterError / NonRetriableError.
 *
 * Hand-written rather than built on p-retry: p-retry computes every delay itself, so it cannot
 * wait for the delay a server asked for (`Retry-After`) and cannot tell `onRetry` how long it is
 * about to wait. Both matter for rate-limited APIs, and the loop is short.
 *
 * - An error is retried when `isRetryable(error)` says so (default: `classifyError` above).
 *   An open circuit breaker is never waited for here: it is thrown at once, so the workflow
 *   step that called sleeps until the breaker's retry time instead of spinning in-process.
 * - An error carrying `retryAfterMs` (a number, e.g. ProviderError from a 429 with Retry-After)
 *   is retried after exactly that delay instead of the backoff. When the server asks for more
 *   than `maxRetryAfterMs`, the error is thrown at once: waiting that long in-process is worse
 *   than letting the caller (an Inngest step, the CLI) retry later.
 * - Otherwise the delay before retry n (1-based) is "full jitter":
 *   `random() * min(maxDelayMs, baseDelayMs * 2^(n-1))`.
 * - An aborted `signal` stops everything at once, also during a wait, and rejects with the
 *   signal's reason.
 */
import { BallastError, BreakerOpenError, errorMessage, ProviderError } from "../errors";

export type ErrorClass =
  | "timeout"
  | "network"
  | "server"
  | "rate_limited"
  | "breaker_open"
  | "unavailable"
  | "client"
  | "validation"
  | "gone"
  | "internal";

export interface Classification {
  retryable: boolean;
  errorClass: ErrorClass;
  /** The delay the failure asked for (Retry-After, an open breaker's retry time), in ms. */
  retryAfterMs?: number;
  /** The dependency that failed, when known (an open breaker's name, a provider's). */
  dependency?: string;
}

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
]);

function codeOf(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && typeof e === "object" && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_CODES.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A lost or refused database connection (node-postgres, the Neon driver, the embedded
 * server's socket): SQLSTATE class 08 (connection exception), 57P01-57P03 (the server shutting
 * down, crashed, or not yet accepting connections), or the driver's own words for a
 * connection that ended under a query. Drizzle wraps the driver's error in `cause`.
 */
const DATABASE_CONNECTION_LOST =
  /^(Connection terminated|Client has encountered a connection error|terminating connection|the database system is (starting up|shutting down|in recovery mode))/;

function databaseConnectionLost(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === "object" && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (/^08[0-9A-Z]{3}$/.test(code) || /^57P0[1-3]$/.test(code)))
      return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === "string" && DATABASE_CONNECTION_LOST.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** A Unix socket that is not there (a local server stopped): a network failure, not a file gone. */
function socketMissing(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === "object" && depth < 4; depth++) {
    const { code, syscall } = e as { code?: unknown; syscall?: unknown };
    if (code === "ENOENT" && syscall === "connect") return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** What a failure is, and whether retrying can help. */
export function classifyError(error: unknown): Classification {
  const retryAfterMs = retryAfterMsOf(error);
  if (error instanceof BreakerOpenError)
    return {
      retryable: true,
      errorClass: "breaker_open",
      retryAfterMs,
      dependency: error.dependency,
    };
  if (error instanceof ProviderError) {
    const status = error.httpStatus;
    const base = { retryAfterMs, dependency: `embedding:${error.provider}` };
    if (status === undefined)
      return {
        ...base,
        retryable: true,
        errorClass: /timed out/.test(error.message) ? "timeout" : "network",
      };
    if (status === 429) return { ...base, retryable: true, errorClass: "rate_limited" };
    if (status === 408) return { ...base, retryable: true, errorClass: "timeout" };
    if (status >= 500) return { ...base, retryable: true, errorClass: "server" };
    return { ...base, retryable: false, errorClass: "client" };
  }
  if (error instanceof BallastError) {
    if (error.status === 429) return { retryable: true, errorClass: "rate_limited", retryAfterMs };
    if (error.status === 404 || error.status === 410)
      return { retryable: false, errorClass: "gone" };
    if (error.status === 400 || error.status === 422)
      return { retryable: false, errorClass: "validation" };
    if (error.retryable)
      return {
        retryable: true,
        errorClass: error.status === 503 ? "unavailable" : "server",
        retryAfterMs,
      };
    return { retryable: false, errorClass: error.status < 500 ? "client" : "internal" };
  }
  if (error instanceof Error) {
    if (databaseConnectionLost(error))
      return { retryable: true, errorClass: "unavailable", dependency: "database" };
    if (socketMissing(error)) return { retryable: true, errorClass: "network" };
    if (error.name === "TimeoutError" || error.name === "AbortError")
      return { retryable: true, errorClass: "timeout" };
    if (codeOf(error)) return { retryable: true, errorClass: "network" };
    const enoent = (error as { code?: unknown }).code === "ENOENT";
    if (enoent) return { retryable: false, errorClass: "gone" };
  }
  // Unknown failures are retried: giving up on a transient fault loses work, retrying a
  // permanent one costs a few attempts and then the dead-letter queue.
  return { retryable: true, errorClass: "internal", retryAfterMs };
}

/** Whether a retry can help (classifyError's verdict). */
export function isRetryableError(error: unknown): boolean {
  return classifyError(error).retryable;
}

/** Full jitter: a uniformly random delay in [0, min(maxMs, baseMs·2^(attempt-1))]. */
export function backoffDelayMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling);
}

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
  const retryable = options.isRetryable ?? isRetryableError;
  const random = options.random ?? Math.random;
  const { signal } = options;

  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (attempt >= maxRetries || !retryable(error) || error instanceof BreakerOpenError)
        throw error;
      const requested = retryAfterMsOf(error);
      let delayMs: number;
      if (requested !== undefined) {
        if (requested > maxRetryAfterMs) throw error;
        delayMs = requested;
      } else {
        delayMs = backoffDelayMs(attempt + 1, baseDelayMs, maxDelayMs, random);
      }
      options.onRetry?.({ attempt: attempt + 1, delayMs, error, message: errorMessage(error) });
      await sleep(delayMs, signal);
    }
  }
}

export function retryAfterMsOf(error: unknown): number | undefined {
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
