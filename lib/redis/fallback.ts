/**
 * Explicit degradation when Redis goes away (REDIS_REQUIRED):
 *
 * - required: every operation whose Redis call fails rejects with
 *   `UnavailableError(..., "redis_required")`, naming REDIS_REQUIRED, so the step that needed it
 *   fails and is retried; /api/health answers 503.
 * - not required: the operation is served by an in-process store instead (breaker state,
 *   budgets and limits then hold per process only) and the store reports itself degraded until
 *   Redis answers again; /api/health says degraded. After a failure the primary is left alone
 *   for `recheckMs` so a dead Redis does not add its timeout to every call.
 */
import { BallastError, UnavailableError } from "../errors";
import type {
  KeyValue,
  Lock,
  RateLimiter,
  RateLimitPolicy,
  RedisBackend,
  RedisStore,
  SetOptions,
} from "./types";

function isOutage(error: unknown): boolean {
  return error instanceof BallastError && error.code === "redis_unavailable";
}

export interface DegradationState {
  /** Epoch ms of the last failed Redis call, or null while Redis answers. */
  degradedSince: number | null;
  lastError: string | null;
}

export class FallbackRedisStore implements RedisStore {
  readonly prefix: string;
  private degradedSince: number | null = null;
  private retryPrimaryAt = 0;
  private lastError: string | null = null;

  constructor(
    readonly primary: RedisStore,
    readonly fallback: RedisStore,
    readonly required: boolean,
    private readonly recheckMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {
    this.prefix = primary.prefix;
  }

  get backend(): RedisBackend {
    return this.primary.backend;
  }

  degradation(): DegradationState {
    return { degradedSince: this.degradedSince, lastError: this.lastError };
  }

  private async call<T>(
    onPrimary: (store: RedisStore) => Promise<T>,
    onFallback: (store: RedisStore) => Promise<T>,
  ): Promise<T> {
    if (!this.required && this.degradedSince !== null && this.now() < this.retryPrimaryAt)
      return onFallback(this.fallback);
    try {
      const value = await onPrimary(this.primary);
      this.degradedSince = null;
      this.lastError = null;
      return value;
    } catch (error) {
      if (!isOutage(error)) throw error;
      this.lastError = (error as Error).message;
      if (this.required)
        throw new UnavailableError(
          `Redis is unavailable and REDIS_REQUIRED=true, so this operation cannot run: ${(error as Error).message}`,
          "redis_required",
          { cause: error },
        );
      this.degradedSince ??= this.now();
      this.retryPrimaryAt = this.now() + this.recheckMs;
      return onFallback(this.fallback);
    }
  }

  kv(area: string): KeyValue {
    const primary = this.primary.kv(area);
    const fallback = this.fallback.kv(area);
    const via = <T>(op: (kv: KeyValue) => Promise<T>) =>
      this.call(
        () => op(primary),
        () => op(fallback),
      );
    return {
      area,
      get: (key) => via((kv) => kv.get(key)),
      set: (key, value, options?: SetOptions) => via((kv) => kv.set(key, value, options)),
      delete: (key) => via((kv) => kv.delete(key)),
      increment: (key, options) => via((kv) => kv.increment(key, options)),
      ttlMs: (key) => via((kv) => kv.ttlMs(key)),
    };
  }

  acquireLock(name: string, ttlMs: number): Promise<Lock | null> {
    return this.call(
      (s) => s.acquireLock(name, ttlMs),
      (s) => s.acquireLock(name, ttlMs),
    );
  }

  rateLimiter(name: string, policy: RateLimitPolicy): RateLimiter {
    const primary = this.primary.rateLimiter(name, policy);
    const fallback = this.fallback.rateLimiter(name, policy);
    return {
      name,
      policy: primary.policy,
      limit: (identifier) =>
        this.call(
          () => primary.limit(identifier),
          () => fallback.limit(identifier),
        ),
    };
  }

  ping(): Promise<{ latencyMs: number }> {
    return this.primary.ping();
  }

  async close(): Promise<void> {
    await this.primary.close();
    await this.fallback.close();
  }
}
