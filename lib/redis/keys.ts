/**
 * Key layout and input validation shared by both backends.
 *
 *   ballast:<env>:<area>:<key>                   key/value (kv)
 *   ballast:<env>:lock:<name>                    locks
 *   ballast:<env>:ratelimit:<name>:<identifier>  rate limiters (then `:<window>` for the windows)
 *
 * env, area and rate-limiter names are namespace segments: letters, digits, `.`, `_` and `-`
 * only, so no colon, space or glob character can make two namespaces overlap. Lock names,
 * keys and identifiers are the last segment and may contain colons; lock names may not contain
 * whitespace or control characters.
 */
import { ValidationError } from "../errors";
import type { RateLimitAlgorithm, RateLimitPolicy } from "./types";

export const KEY_ROOT = "ballast";
export const LOCK_AREA = "lock";
export const RATE_LIMIT_AREA = "ratelimit";
export const RESERVED_AREAS: readonly string[] = [LOCK_AREA, RATE_LIMIT_AREA];

const SEGMENT = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_LOCK_NAME = 200;
const MAX_KEY = 1024;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects
const WHITESPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f]/;

export const RATE_LIMIT_ALGORITHMS: readonly RateLimitAlgorithm[] = [
  "fixed-window",
  "sliding-window",
  "token-bucket",
];

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : typeof value;
}

function segment(kind: string, value: unknown): string {
  if (typeof value !== "string" || !SEGMENT.test(value)) {
    throw new ValidationError(
      `invalid redis ${kind} ${describe(value)}: use 1-64 letters, digits, '.', '_' or '-' (no spaces or colons)`,
      [{ path: kind, message: "must match [A-Za-z0-9._-]{1,64}" }],
    );
  }
  return value;
}

export function validateEnv(env: unknown): string {
  return segment("env", env);
}

export function validateArea(area: unknown): string {
  const value = segment("area", area);
  if (RESERVED_AREAS.includes(value)) {
    throw new ValidationError(
      `redis area "${value}" is reserved (it holds ${value === LOCK_AREA ? "locks" : "rate limiters"})`,
      [{ path: "area", message: `reserved: ${RESERVED_AREAS.join(", ")}` }],
    );
  }
  return value;
}

export function validateRateLimiterName(name: unknown): string {
  return segment("rate limiter name", name);
}

export function validateLockName(name: unknown): string {
  if (
    typeof name !== "string" ||
    name.length === 0 ||
    name.length > MAX_LOCK_NAME ||
    WHITESPACE_OR_CONTROL.test(name)
  ) {
    throw new ValidationError(
      `invalid lock name ${describe(name)}: use 1-${MAX_LOCK_NAME} characters without whitespace`,
      [{ path: "name", message: "non-empty, no whitespace or control characters" }],
    );
  }
  return name;
}

/** A kv key or a rate-limit identifier: any non-empty string up to 1024 characters. */
export function validateKey(key: unknown, what = "key"): string {
  if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY) {
    throw new ValidationError(
      `invalid redis ${what} ${describe(key)}: must be a non-empty string of at most ${MAX_KEY} characters`,
      [{ path: what, message: `non-empty string, at most ${MAX_KEY} characters` }],
    );
  }
  return key;
}

export function validateTtlMs(ttlMs: unknown, what = "ttlMs"): number {
  if (typeof ttlMs !== "number" || !Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new ValidationError(
      `${what} must be a positive integer of milliseconds, got ${String(ttlMs)}`,
      [{ path: what, message: "positive integer" }],
    );
  }
  return ttlMs;
}

export function validateIncrementBy(by: unknown): number {
  if (typeof by !== "number" || !Number.isSafeInteger(by)) {
    throw new ValidationError(`increment "by" must be an integer, got ${String(by)}`, [
      { path: "by", message: "integer" },
    ]);
  }
  return by;
}

export function validateRateLimitPolicy(policy: unknown): RateLimitPolicy {
  const issues: { path: string; message: string }[] = [];
  const p = (typeof policy === "object" && policy !== null ? policy : {}) as Record<
    string,
    unknown
  >;
  if (!RATE_LIMIT_ALGORITHMS.includes(p.algorithm as RateLimitAlgorithm)) {
    issues.push({ path: "algorithm", message: `one of ${RATE_LIMIT_ALGORITHMS.join(", ")}` });
  }
  if (typeof p.limit !== "number" || !Number.isSafeInteger(p.limit) || p.limit <= 0) {
    issues.push({ path: "limit", message: "positive integer" });
  }
  if (typeof p.windowMs !== "number" || !Number.isSafeInteger(p.windowMs) || p.windowMs <= 0) {
    issues.push({ path: "windowMs", message: "positive integer of milliseconds" });
  }
  if (issues.length > 0) {
    throw new ValidationError(
      `invalid rate limit policy: ${issues.map((i) => `${i.path} must be a ${i.message}`).join("; ")}`,
      issues,
    );
  }
  return {
    algorithm: p.algorithm as RateLimitAlgorithm,
    limit: p.limit as number,
    windowMs: p.windowMs as number,
  };
}

/** `ballast:<env>:` */
export function storePrefix(env: string): string {
  return `${KEY_ROOT}:${validateEnv(env)}:`;
}

export function kvPrefix(prefix: string, area: string): string {
  return `${prefix}${area}:`;
}

export function lockKey(prefix: string, name: string): string {
  return `${prefix}${LOCK_AREA}:${name}`;
}

/** The prefix handed to @upstash/ratelimit; it appends `:<identifier>` (and `:<window>`). */
export function rateLimitPrefix(prefix: string, name: string): string {
  return `${prefix}${RATE_LIMIT_AREA}:${name}`;
}
