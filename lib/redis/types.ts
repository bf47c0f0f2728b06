/**
 * The Redis surface Ballast uses: namespaced key/value with TTLs, counters, locks and rate
 * limiters. Two backends give the same semantics: Upstash (production, over its REST API) and
 * an in-process store (development and tests). Every key lives under `ballast:<env>:`.
 */

export type RedisBackend = "upstash" | "memory";

export interface SetOptions {
  /** Expire the key after this many milliseconds (a positive integer). Without it, no expiry. */
  ttlMs?: number;
  /** Only set when the key does not exist (SET NX). */
  onlyIfAbsent?: boolean;
}

/** Key/value operations scoped to one area: keys are `ballast:<env>:<area>:<key>`. */
export interface KeyValue {
  readonly area: string;
  get(key: string): Promise<string | null>;
  /** Returns false when `onlyIfAbsent` is set and the key already exists. A plain set clears any TTL. */
  set(key: string, value: string, options?: SetOptions): Promise<boolean>;
  /** Returns whether the key existed. */
  delete(key: string): Promise<boolean>;
  /**
   * Adds `by` (an integer, default 1) to an integer counter and returns the new value. A missing
   * key counts from 0. `ttlMs` is applied only when this call creates the counter. A value that
   * is not an integer gives a ConflictError (code `redis_wrong_type`).
   */
  increment(key: string, options?: { by?: number; ttlMs?: number }): Promise<number>;
  /** Milliseconds left before the key expires; null when the key does not exist or never expires. */
  ttlMs(key: string): Promise<number | null>;
}

export interface Lock {
  readonly name: string;
  readonly token: string;
  /** Deletes the lock only if it still holds this token. Returns whether it did. */
  release(): Promise<boolean>;
  /** Resets the lock's TTL only if it still holds this token. Returns whether it did. */
  extend(ttlMs: number): Promise<boolean>;
}

export type RateLimitAlgorithm = "fixed-window" | "sliding-window" | "token-bucket";

/**
 * `limit` requests per `windowMs`. For the token bucket: capacity = `limit`, and `limit` tokens
 * are refilled every `windowMs`.
 */
export interface RateLimitPolicy {
  algorithm: RateLimitAlgorithm;
  limit: number;
  windowMs: number;
}

export interface RateLimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Epoch milliseconds when the current window ends (or the bucket next refills). */
  resetAt: number;
}

export interface RateLimiter {
  readonly name: string;
  readonly policy: Readonly<RateLimitPolicy>;
  limit(identifier: string): Promise<RateLimitResult>;
}

export interface RedisStore {
  readonly backend: RedisBackend;
  /** `ballast:<env>:` */
  readonly prefix: string;
  /** Key/value operations under `ballast:<env>:<area>:`. The areas `lock` and `ratelimit` are reserved. */
  kv(area: string): KeyValue;
  /**
   * SET NX PX `ballast:<env>:lock:<name>` with a random token. Null when someone else holds it.
   * Release and extend only act while the lock still holds that token (atomically).
   */
  acquireLock(name: string, ttlMs: number): Promise<Lock | null>;
  /** Keys live under `ballast:<env>:ratelimit:<name>:`. */
  rateLimiter(name: string, policy: RateLimitPolicy): RateLimiter;
  ping(): Promise<{ latencyMs: number }>;
  /** After close, every operation rejects. Closing twice is harmless. */
  close(): Promise<void>;
}
