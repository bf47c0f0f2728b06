/**
 * Every rate limit of Ballast in one named table.
 *
 * Inbound (per API key or client address, @upstash/ratelimit on Upstash, the same algorithms
 * in-process): over the limit a request gets 429 with `Retry-After` and the IETF
 * `RateLimit-Limit` / `RateLimit-Remaining` / `RateLimit-Reset` headers (delta seconds).
 *
 * Outbound: each embedding provider's requests-per-minute and tokens-per-minute budgets,
 * counted in Redis so every instance and every concurrent batch draws from the same budget
 * (lib/limits/budget.ts). Defaults follow the providers' published entry tiers; override with
 * RATE_LIMIT_OVERRIDES and OPENAI_RPM / OPENAI_TPM / COHERE_RPM / COHERE_TPM.
 */
import { TooManyRequestsError } from "../errors";
import type { RateLimitPolicy, RateLimitResult, RedisStore } from "../redis";

export const INBOUND_POLICY_NAMES = ["search", "webhook", "admin", "auth-failures"] as const;
export type InboundPolicyName = (typeof INBOUND_POLICY_NAMES)[number];

export interface InboundPolicy extends RateLimitPolicy {
  /** What the limit is keyed by. */
  keyedBy: "api-key-or-address" | "address";
  description: string;
}

export const INBOUND_POLICIES: Record<InboundPolicyName, InboundPolicy> = {
  search: {
    algorithm: "sliding-window",
    limit: 120,
    windowMs: 60_000,
    keyedBy: "api-key-or-address",
    description: "GET /api/search, per API key (or client address before authentication)",
  },
  webhook: {
    algorithm: "sliding-window",
    limit: 600,
    windowMs: 60_000,
    keyedBy: "address",
    description: "POST /api/webhooks/github, per client address",
  },
  admin: {
    algorithm: "sliding-window",
    limit: 300,
    windowMs: 60_000,
    keyedBy: "api-key-or-address",
    description: "/api/admin/*, per API key (or client address before authentication)",
  },
  "auth-failures": {
    algorithm: "sliding-window",
    limit: 30,
    windowMs: 60_000,
    keyedBy: "address",
    description: "failed authentications on any route, per client address",
  },
};

/** Outbound budgets per provider: 0 means no budget for that dimension. */
export interface ProviderBudgetPolicy {
  requestsPerMinute: number;
  tokensPerMinute: number;
}

/**
 * OpenAI tier 1 for text-embedding-3-*: 3,000 RPM and 1,000,000 TPM. Cohere production keys:
 * 2,000 embed calls per minute, no published token limit.
 */
export const PROVIDER_BUDGETS: Record<"openai" | "cohere", ProviderBudgetPolicy> = {
  openai: { requestsPerMinute: 3000, tokensPerMinute: 1_000_000 },
  cohere: { requestsPerMinute: 2000, tokensPerMinute: 0 },
};

/**
 * RATE_LIMIT_OVERRIDES: `name=LIMIT/WINDOW` pairs, comma-separated, WINDOW as 30s, 1m, 1h
 * (e.g. `search=60/1m,admin=1000/1m`).
 */
export function parseRateLimitOverrides(text: string | undefined): {
  overrides: Partial<Record<InboundPolicyName, { limit: number; windowMs: number }>>;
  problems: string[];
} {
  const overrides: Partial<Record<InboundPolicyName, { limit: number; windowMs: number }>> = {};
  const problems: string[] = [];
  if (!text?.trim()) return { overrides, problems };
  for (const part of text.split(",")) {
    const trimmed = part.trim();
    if (!trimmed) continue;
    const match = /^([a-z-]+)=(\d{1,9})\/(\d{1,6})(s|m|h)$/.exec(trimmed);
    const name = match?.[1] as InboundPolicyName | undefined;
    if (!match || !name || !(INBOUND_POLICY_NAMES as readonly string[]).includes(name)) {
      problems.push(
        `"${trimmed.slice(0, 40)}" is not NAME=LIMIT/WINDOW with NAME one of ${INBOUND_POLICY_NAMES.join(", ")} and WINDOW like 30s, 1m, 1h`,
      );
      continue;
    }
    const limit = Number(match[2]);
    const unit = { s: 1000, m: 60_000, h: 3_600_000 }[match[4] as "s" | "m" | "h"];
    const windowMs = Number(match[3]) * unit;
    if (limit < 1 || windowMs < 1000) {
      problems.push(`${name}: the limit must be at least 1 and the window at least 1s`);
      continue;
    }
    overrides[name] = { limit, windowMs };
  }
  return { overrides, problems };
}

export interface LimitsConfig {
  inbound: Partial<Record<InboundPolicyName, { limit: number; windowMs: number }>>;
}

/** The limits part of the configuration (config.resilience). */
export function limitsOf(config: {
  resilience: { inbound: Record<string, { limit: number; windowMs: number }> };
}): LimitsConfig {
  return { inbound: config.resilience.inbound as LimitsConfig["inbound"] };
}

export function inboundPolicy(name: InboundPolicyName, config?: LimitsConfig): InboundPolicy {
  return { ...INBOUND_POLICIES[name], ...config?.inbound[name] };
}

/** The IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers) for a verdict. */
export function rateLimitHeaders(
  verdict: RateLimitResult,
  now = Date.now(),
): Record<string, string> {
  const resetSeconds = Math.max(0, Math.ceil((verdict.resetAt - now) / 1000));
  return {
    "ratelimit-limit": String(verdict.limit),
    "ratelimit-remaining": String(Math.max(0, verdict.remaining)),
    "ratelimit-reset": String(resetSeconds),
  };
}

/**
 * Counts one request against the named policy for `identifier` (an API key id or a client
 * address key). Returns the headers to send; throws TooManyRequestsError (429, Retry-After,
 * RateLimit-*) when over the limit.
 */
export async function enforceInbound(
  redis: RedisStore,
  name: InboundPolicyName,
  identifier: string,
  config?: LimitsConfig,
): Promise<Record<string, string>> {
  const policy = inboundPolicy(name, config);
  const verdict = await redis
    .rateLimiter(`inbound-${name}`, {
      algorithm: policy.algorithm,
      limit: policy.limit,
      windowMs: policy.windowMs,
    })
    .limit(identifier);
  const headers = rateLimitHeaders(verdict);
  if (!verdict.allowed) {
    const retryAfter = Math.max(1, Number(headers["ratelimit-reset"]));
    throw new TooManyRequestsError(
      `rate limit ${name} exceeded (${policy.limit} per ${Math.round(policy.windowMs / 1000)} s); retry after ${retryAfter} s`,
      retryAfter,
      headers,
    );
  }
  return headers;
}

/** Adds rate-limit headers to a response (a successful one: the 429s carry theirs). */
export function withHeaders(response: Response, headers: Record<string, string>): Response {
  try {
    for (const [name, value] of Object.entries(headers))
      if (!response.headers.has(name)) response.headers.set(name, value);
  } catch {
    // immutable headers (a proxied response): sent without them
  }
  return response;
}
