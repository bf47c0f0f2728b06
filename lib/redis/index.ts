/**
 * Redis for Ballast: `createRedisStore` picks the backend.
 *
 * - `upstash`: production (Upstash REST via @upstash/redis and @upstash/ratelimit).
 * - `memory`: the development/test default, an in-process store with the same semantics. It is
 *   not shared between processes, so locks and rate limits only hold within one process.
 */
import { ValidationError } from "../errors";
import { MemoryKeyspace } from "./memory-keyspace";
import { MemoryRedisStore } from "./memory-store";
import type { RedisStore } from "./types";
import { UpstashRedisStore } from "./upstash-store";

export { RATE_LIMIT_ALGORITHMS, RESERVED_AREAS } from "./keys";
export type {
  KeyValue,
  Lock,
  RateLimitAlgorithm,
  RateLimiter,
  RateLimitPolicy,
  RateLimitResult,
  RedisBackend,
  RedisStore,
  SetOptions,
} from "./types";
export { MemoryKeyspace, MemoryRedisStore, UpstashRedisStore };

export type CreateRedisStoreOptions =
  | {
      backend: "upstash";
      url: string;
      token: string;
      env: string;
      /** Retries after a network failure. Default 2. */
      retries?: number;
      /** Per-request timeout. Default 10,000 ms. */
      requestTimeoutMs?: number;
    }
  | {
      backend: "memory";
      env: string;
      /** Clock in epoch ms (tests). Default Date.now. */
      now?: () => number;
      /** Share one in-process keyspace between stores (tests, tools). */
      keyspace?: MemoryKeyspace;
    };

export function createRedisStore(options: CreateRedisStoreOptions): RedisStore {
  switch (options?.backend) {
    case "upstash":
      return new UpstashRedisStore(options);
    case "memory":
      return new MemoryRedisStore(options);
    default:
      throw new ValidationError(
        `unknown redis backend ${JSON.stringify((options as { backend?: unknown } | undefined)?.backend)}: use "upstash" or "memory"`,
        [{ path: "backend", message: "upstash | memory" }],
      );
  }
}
