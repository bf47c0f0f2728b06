/**
 * The three rate-limit algorithms of @upstash/ratelimit 2.x (single region), re-done over the
 * in-process keyspace. They follow the library's Lua scripts step by step, with the same keys,
 * so that for the same policy and the same clock the memory store allows, counts and resets
 * exactly as the Upstash store does (tests/integration/redis-ratelimit-parity.test.ts checks
 * that against a real redis-server).
 *
 * Keys, with P = `ballast:<env>:ratelimit:<name>:<identifier>`:
 *   fixed window    P:<floor(now / window)>   counter, PEXPIRE window on creation
 *   sliding window  P:<floor(now / window)>   counter, PEXPIRE 2*window+1s on creation; the
 *                                             previous window's counter is weighted by the part
 *                                             of it that still overlaps
 *   token bucket    P                          hash {refilledAt, tokens}
 */
import type { MemoryKeyspace } from "./memory-keyspace";
import type { RateLimitPolicy, RateLimitResult } from "./types";

/** `key` is `ballast:<env>:ratelimit:<name>:<identifier>`. */
export function memoryRateLimit(
  keyspace: MemoryKeyspace,
  key: string,
  policy: RateLimitPolicy,
): RateLimitResult {
  switch (policy.algorithm) {
    case "fixed-window":
      return fixedWindow(keyspace, key, policy.limit, policy.windowMs);
    case "sliding-window":
      return slidingWindow(keyspace, key, policy.limit, policy.windowMs);
    case "token-bucket":
      return tokenBucket(keyspace, key, policy.limit, policy.windowMs, policy.limit);
  }
}

function fixedWindow(
  ks: MemoryKeyspace,
  key: string,
  limit: number,
  windowMs: number,
): RateLimitResult {
  const bucket = Math.floor(ks.now() / windowMs);
  const counterKey = `${key}:${bucket}`;
  const used = ks.incrBy(counterKey, 1);
  if (used === 1) ks.pexpire(counterKey, windowMs);
  return {
    allowed: used <= limit,
    limit,
    remaining: Math.max(0, limit - used),
    resetAt: (bucket + 1) * windowMs,
  };
}

function slidingWindow(
  ks: MemoryKeyspace,
  key: string,
  limit: number,
  windowMs: number,
): RateLimitResult {
  const now = ks.now();
  const currentWindow = Math.floor(now / windowMs);
  const currentKey = `${key}:${currentWindow}`;
  const previousKey = `${key}:${currentWindow - 1}`;
  const resetAt = (currentWindow + 1) * windowMs;

  const inCurrent = Number(ks.getString(currentKey) ?? 0);
  const inPrevious = Number(ks.getString(previousKey) ?? 0);
  const percentageInCurrent = (now % windowMs) / windowMs;
  const weightedPrevious = Math.floor((1 - percentageInCurrent) * inPrevious);
  if (weightedPrevious + inCurrent >= limit) {
    return { allowed: false, limit, remaining: 0, resetAt };
  }
  const used = ks.incrBy(currentKey, 1);
  if (used === 1) ks.pexpire(currentKey, windowMs * 2 + 1000);
  const remaining = limit - (used + weightedPrevious);
  return { allowed: remaining >= 0, limit, remaining: Math.max(0, remaining), resetAt };
}

function tokenBucket(
  ks: MemoryKeyspace,
  key: string,
  maxTokens: number,
  intervalMs: number,
  refillRate: number,
): RateLimitResult {
  const now = ks.now();
  const [storedRefilledAt, storedTokens] = ks.hmget(key, ["refilledAt", "tokens"]);
  let refilledAt: number;
  let tokens: number;
  if (storedRefilledAt === null || storedRefilledAt === undefined) {
    refilledAt = now;
    tokens = maxTokens;
  } else {
    refilledAt = Number(storedRefilledAt);
    tokens = Number(storedTokens);
  }
  if (now >= refilledAt + intervalMs) {
    const refills = Math.floor((now - refilledAt) / intervalMs);
    tokens = Math.min(maxTokens, tokens + refills * refillRate);
    refilledAt += refills * intervalMs;
  }
  const resetAt = refilledAt + intervalMs;
  if (tokens < 1) {
    return { allowed: false, limit: maxTokens, remaining: 0, resetAt };
  }
  const remaining = tokens - 1;
  const expireAfter = Math.ceil((maxTokens - remaining) / refillRate) * intervalMs;
  ks.hset(key, { refilledAt: String(refilledAt), tokens: String(remaining) });
  if (expireAfter > 0) ks.pexpire(key, expireAfter);
  return { allowed: true, limit: maxTokens, remaining, resetAt };
}
