/**
 * The production RedisStore: Upstash over its REST API (@upstash/redis), rate limits by
 * @upstash/ratelimit. Credentials come only from the options (never `Redis.fromEnv()`), values
 * are plain strings (`automaticDeserialization: false`), telemetry is off.
 *
 * Every failure to reach Upstash, and every error answer, becomes
 * `UnavailableError(..., "redis_unavailable")` (retryable), with a message that never carries
 * the token (nor the command's arguments). A value of the wrong type for the operation
 * (INCRBY on a non-integer) is a `ConflictError(..., "redis_wrong_type")`, as in the memory store.
 */
import { randomUUID } from "node:crypto";
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { BallastError, ConflictError, UnavailableError, ValidationError } from "../errors";
import { elapsedMs } from "../timing";
import {
  kvPrefix,
  lockKey,
  rateLimitPrefix,
  storePrefix,
  validateArea,
  validateIncrementBy,
  validateKey,
  validateLockName,
  validateRateLimiterName,
  validateRateLimitPolicy,
  validateTtlMs,
} from "./keys";
import type {
  KeyValue,
  Lock,
  RateLimiter,
  RateLimitPolicy,
  RateLimitResult,
  RedisStore,
  SetOptions,
} from "./types";

export interface UpstashStoreOptions {
  /** The Upstash REST URL (https://…; http:// is accepted for a local bridge). */
  url: string;
  token: string;
  env: string;
  /** Retries after a network failure (not after an error answer). Default 2. */
  retries?: number;
  /** Abort a request that takes longer than this. Default 10,000 ms. */
  requestTimeoutMs?: number;
}

const DEFAULT_RETRIES = 2;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** Deletes the lock only while it still holds our token. */
const RELEASE_LOCK = `if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0`;

/** Resets the lock's TTL only while it still holds our token. */
const EXTEND_LOCK = `if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`;

/** INCRBY, and PEXPIRE only when this call created the counter. */
const INCREMENT_WITH_TTL = `local created = redis.call("EXISTS", KEYS[1]) == 0
local value = redis.call("INCRBY", KEYS[1], ARGV[1])
if created then
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return value`;

const WRONG_TYPE = /WRONGTYPE|not an integer|would overflow/i;

function validateUrl(url: unknown): string {
  if (typeof url !== "string" || !/^https?:\/\/[^\s/?#]+/.test(url)) {
    throw new ValidationError("the Upstash REST URL must be an http(s) URL", [
      { path: "url", message: "http(s) URL" },
    ]);
  }
  try {
    new URL(url);
  } catch {
    throw new ValidationError("the Upstash REST URL is not a valid URL", [
      { path: "url", message: "http(s) URL" },
    ]);
  }
  return url;
}

function validateToken(token: unknown): string {
  if (typeof token !== "string" || token.trim() === "" || /\s/.test(token)) {
    throw new ValidationError(
      "the Upstash REST token must be a non-empty string without whitespace",
      [{ path: "token", message: "non-empty, no whitespace" }],
    );
  }
  return token;
}

function nonNegativeInteger(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(`${what} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

export class UpstashRedisStore implements RedisStore {
  readonly backend = "upstash" as const;
  readonly prefix: string;
  private readonly redis: Redis;
  private readonly token: string;
  private readonly host: string;
  private closed = false;

  constructor(options: UpstashStoreOptions) {
    this.prefix = storePrefix(options.env);
    const url = validateUrl(options.url);
    this.token = validateToken(options.token);
    this.host = new URL(url).host;
    const retries = nonNegativeInteger(options.retries, DEFAULT_RETRIES, "retries");
    const timeoutMs = nonNegativeInteger(
      options.requestTimeoutMs,
      DEFAULT_REQUEST_TIMEOUT_MS,
      "requestTimeoutMs",
    );
    try {
      this.redis = new Redis({
        url,
        token: this.token,
        automaticDeserialization: false,
        enableTelemetry: false,
        latencyLogging: false,
        retry: retries === 0 ? false : { retries, backoff: (n) => Math.exp(n) * 50 },
        // A function: a fresh timeout per request, and an abort then throws (a plain signal
        // would make the client answer "Aborted" as if it were a result).
        ...(timeoutMs > 0 ? { signal: () => AbortSignal.timeout(timeoutMs) } : {}),
      });
    } catch (error) {
      // The client refuses some URLs its own way (UrlError); the token is never part of it.
      throw new ValidationError(`the Upstash REST URL was refused: ${this.describe(error)}`, [
        { path: "url", message: "http(s) URL" },
      ]);
    }
  }

  kv(area: string): KeyValue {
    const validArea = validateArea(area);
    const base = kvPrefix(this.prefix, validArea);
    return {
      area: validArea,
      get: async (key) => {
        const fullKey = base + validateKey(key);
        return this.call("GET", () => this.redis.get<string>(fullKey));
      },
      set: async (key: string, value: string, options: SetOptions = {}) => {
        const fullKey = base + validateKey(key);
        if (typeof value !== "string") {
          throw new ValidationError(`redis values are strings, got ${typeof value}`);
        }
        const ttlMs = options.ttlMs === undefined ? undefined : validateTtlMs(options.ttlMs);
        const nx = options.onlyIfAbsent === true;
        const answer = await this.call("SET", () => {
          if (ttlMs === undefined) {
            return nx
              ? this.redis.set(fullKey, value, { nx: true })
              : this.redis.set(fullKey, value);
          }
          return nx
            ? this.redis.set(fullKey, value, { px: ttlMs, nx: true })
            : this.redis.set(fullKey, value, { px: ttlMs });
        });
        return answer === "OK";
      },
      delete: async (key) => {
        const fullKey = base + validateKey(key);
        return (await this.call("DEL", () => this.redis.del(fullKey))) > 0;
      },
      increment: async (key, options = {}) => {
        const fullKey = base + validateKey(key);
        const by = validateIncrementBy(options.by ?? 1);
        const ttlMs = options.ttlMs === undefined ? undefined : validateTtlMs(options.ttlMs);
        if (ttlMs === undefined) return this.call("INCRBY", () => this.redis.incrby(fullKey, by));
        const value = await this.call("INCRBY", () =>
          this.redis.eval(INCREMENT_WITH_TTL, [fullKey], [String(by), String(ttlMs)]),
        );
        return Number(value);
      },
      ttlMs: async (key) => {
        const fullKey = base + validateKey(key);
        const ttl = await this.call("PTTL", () => this.redis.pttl(fullKey));
        return ttl < 0 ? null : ttl;
      },
    };
  }

  async acquireLock(name: string, ttlMs: number): Promise<Lock | null> {
    const validName = validateLockName(name);
    const ttl = validateTtlMs(ttlMs);
    const key = lockKey(this.prefix, validName);
    const token = randomUUID();
    const answer = await this.call("SET NX (lock)", () =>
      this.redis.set(key, token, { px: ttl, nx: true }),
    );
    if (answer !== "OK") return null;
    return {
      name: validName,
      token,
      release: () =>
        this.call(
          "EVAL (lock release)",
          async () => Number(await this.redis.eval(RELEASE_LOCK, [key], [token])) === 1,
        ),
      extend: async (extendMs: number) => {
        const ms = validateTtlMs(extendMs);
        return this.call(
          "EVAL (lock extend)",
          async () => Number(await this.redis.eval(EXTEND_LOCK, [key], [token, String(ms)])) === 1,
        );
      },
    };
  }

  rateLimiter(name: string, policy: RateLimitPolicy): RateLimiter {
    const validName = validateRateLimiterName(name);
    const validPolicy = Object.freeze(validateRateLimitPolicy(policy));
    const window = `${validPolicy.windowMs} ms` as const;
    const limiter =
      validPolicy.algorithm === "fixed-window"
        ? Ratelimit.fixedWindow(validPolicy.limit, window)
        : validPolicy.algorithm === "sliding-window"
          ? Ratelimit.slidingWindow(validPolicy.limit, window)
          : Ratelimit.tokenBucket(validPolicy.limit, window, validPolicy.limit);
    const ratelimit = new Ratelimit({
      redis: this.redis,
      limiter,
      prefix: rateLimitPrefix(this.prefix, validName),
      // No per-instance cache of blocked identifiers: it would let one process deny what
      // Redis would allow (the sliding window frees up within a window), and the memory store
      // has none. No timeout: the library's timeout answers "allowed" (fails open).
      ephemeralCache: false,
      timeout: 0,
      analytics: false,
      enableTelemetry: false,
    });
    return {
      name: validName,
      policy: validPolicy,
      limit: async (identifier: string): Promise<RateLimitResult> => {
        const id = validateKey(identifier, "identifier");
        const response = await this.call(`rate limit ${validName}`, () => ratelimit.limit(id));
        return {
          allowed: response.success,
          limit: response.limit,
          remaining: response.remaining,
          resetAt: response.reset,
        };
      },
    };
  }

  async ping(): Promise<{ latencyMs: number }> {
    const started = performance.now();
    const answer = await this.call("PING", () => this.redis.ping());
    if (answer !== "PONG") {
      throw new UnavailableError(
        `redis (upstash at ${this.host}) answered PING with an unexpected reply`,
        "redis_unavailable",
      );
    }
    return { latencyMs: elapsedMs(started) };
  }

  async close(): Promise<void> {
    // @upstash/redis holds no connection of its own (fetch keeps its pool); nothing to end.
    this.closed = true;
  }

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new UnavailableError("the redis store is closed", "redis_closed");
    try {
      return await fn();
    } catch (error) {
      throw this.translate(operation, error);
    }
  }

  private translate(operation: string, error: unknown): BallastError {
    if (error instanceof BallastError) return error;
    const detail = this.describe(error);
    if (WRONG_TYPE.test(detail)) {
      return new ConflictError(
        `redis (upstash) ${operation} refused: ${detail}`,
        "redis_wrong_type",
      );
    }
    return new UnavailableError(
      `redis (upstash at ${this.host}) unavailable during ${operation}: ${detail}`,
      "redis_unavailable",
      { cause: error },
    );
  }

  /** A one-line reason without the token and without the command's arguments. */
  private describe(error: unknown): string {
    let text: string;
    if (error instanceof Error) {
      text = error.name === "TimeoutError" ? "request timed out" : error.message;
      const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
      if (cause && typeof cause === "object") {
        const code = typeof cause.code === "string" ? cause.code : undefined;
        const message = typeof cause.message === "string" ? cause.message : undefined;
        if (code || message) text += ` (${code ?? message})`;
      }
    } else {
      text = String(error);
    }
    text = text
      .replace(/,? ?command was:[\s\S]*$/, "")
      .replace(/^Command (?:\d+ \[ \S+ \] )?failed: /, "")
      .replace(/\s+/g, " ")
      .trim();
    if (this.token) text = text.split(this.token).join("[redacted]");
    return text.length > 300 ? `${text.slice(0, 300)}…` : text;
  }
}
