/**
 * The in-process RedisStore: the development/test default when no Upstash is configured.
 *
 * Its data lives in a MemoryKeyspace in this process only. It is NOT shared between processes:
 * a lock taken here does not exclude another process, and rate limits count per process. Two
 * stores in one process share data only when they are given the same keyspace.
 */
import { randomUUID } from "node:crypto";
import { UnavailableError, ValidationError } from "../errors";
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
import { MemoryKeyspace } from "./memory-keyspace";
import { memoryRateLimit } from "./rate-limit";
import type {
  KeyValue,
  Lock,
  RateLimiter,
  RateLimitPolicy,
  RateLimitResult,
  RedisStore,
  SetOptions,
} from "./types";

export interface MemoryStoreOptions {
  env: string;
  /** Clock in epoch ms for a keyspace this store creates. Default Date.now. */
  now?: () => number;
  /** Share one keyspace between stores (as two clients share one Redis). Its clock is used. */
  keyspace?: MemoryKeyspace;
}

export class MemoryRedisStore implements RedisStore {
  readonly backend = "memory" as const;
  readonly prefix: string;
  readonly keyspace: MemoryKeyspace;
  private closed = false;

  constructor(options: MemoryStoreOptions) {
    this.prefix = storePrefix(options.env);
    if (options.keyspace && options.now) {
      throw new ValidationError(
        "pass either a keyspace or a clock (now) to the memory redis store, not both: the keyspace has its own clock",
      );
    }
    this.keyspace = options.keyspace ?? new MemoryKeyspace({ now: options.now });
  }

  kv(area: string): KeyValue {
    const validArea = validateArea(area);
    const base = kvPrefix(this.prefix, validArea);
    const ks = this.keyspace;
    const run = <T>(fn: () => T): Promise<T> => this.run(fn);
    return {
      area: validArea,
      get: (key) => run(() => ks.getString(base + validateKey(key))),
      set: (key: string, value: string, options: SetOptions = {}) =>
        run(() => {
          const fullKey = base + validateKey(key);
          if (typeof value !== "string") {
            throw new ValidationError(`redis values are strings, got ${typeof value}`);
          }
          const ttlMs = options.ttlMs === undefined ? undefined : validateTtlMs(options.ttlMs);
          return ks.setString(fullKey, value, { ttlMs, nx: options.onlyIfAbsent === true });
        }),
      delete: (key) => run(() => ks.del(base + validateKey(key))),
      increment: (key, options = {}) =>
        run(() => {
          const fullKey = base + validateKey(key);
          const by = validateIncrementBy(options.by ?? 1);
          const ttlMs = options.ttlMs === undefined ? undefined : validateTtlMs(options.ttlMs);
          const created = !ks.exists(fullKey);
          const value = ks.incrBy(fullKey, by);
          if (created && ttlMs !== undefined) ks.pexpire(fullKey, ttlMs);
          return value;
        }),
      ttlMs: (key) =>
        run(() => {
          const ttl = ks.pttl(base + validateKey(key));
          return ttl < 0 ? null : ttl;
        }),
    };
  }

  acquireLock(name: string, ttlMs: number): Promise<Lock | null> {
    return this.run(() => {
      const validName = validateLockName(name);
      const ttl = validateTtlMs(ttlMs);
      const key = lockKey(this.prefix, validName);
      const token = randomUUID();
      if (!this.keyspace.setString(key, token, { ttlMs: ttl, nx: true })) return null;
      const ks = this.keyspace;
      const lock: Lock = {
        name: validName,
        token,
        release: () => this.run(() => (ks.getString(key) === token ? ks.del(key) : false)),
        extend: (extendMs: number) =>
          this.run(() => {
            const ms = validateTtlMs(extendMs);
            return ks.getString(key) === token ? ks.pexpire(key, ms) : false;
          }),
      };
      return lock;
    });
  }

  rateLimiter(name: string, policy: RateLimitPolicy): RateLimiter {
    const validName = validateRateLimiterName(name);
    const validPolicy = Object.freeze(validateRateLimitPolicy(policy));
    const base = rateLimitPrefix(this.prefix, validName);
    return {
      name: validName,
      policy: validPolicy,
      limit: (identifier: string): Promise<RateLimitResult> =>
        this.run(() =>
          memoryRateLimit(
            this.keyspace,
            `${base}:${validateKey(identifier, "identifier")}`,
            validPolicy,
          ),
        ),
    };
  }

  ping(): Promise<{ latencyMs: number }> {
    return this.run(() => ({ latencyMs: 0 }));
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Runs one synchronous (so atomic) operation; its errors become a rejected promise. */
  private async run<T>(fn: () => T): Promise<T> {
    if (this.closed) throw new UnavailableError("the redis store is closed", "redis_closed");
    return fn();
  }
}
