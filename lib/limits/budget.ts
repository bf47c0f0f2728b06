/**
 * An outbound provider budget shared through Redis: requests and tokens per window (a minute
 * by default), so that every instance and every concurrent batch together stay within the
 * provider's RPM / TPM. A reservation increments the window's counters atomically (INCRBY);
 * one that would go over is taken back and the caller waits for the next window. A single
 * request larger than the whole token budget is let through alone in an empty window (it could
 * never fit otherwise; the provider then answers 429 and Retry-After is honoured).
 *
 * Windows are aligned to the epoch (`floor(now / windowMs)`), the same minutes a provider
 * counts in. A reservation in the last 1 % of a window (0.6 s of a minute) waits for the next
 * one: a request sent then could arrive after the provider's minute turned and count there.
 */
import type { KeyValue, RedisStore } from "../redis";
import { sleep } from "../resilience/retry";
import type { ProviderBudgetPolicy } from "./policies";

export interface BudgetOptions extends ProviderBudgetPolicy {
  /** Window length; default 60,000 (per minute). */
  windowMs?: number;
}

export interface BudgetReservation {
  /** Total time waited for the budget. */
  waitedMs: number;
}

export class ProviderBudget {
  private readonly kv: KeyValue;
  readonly windowMs: number;
  /** Reservations that had to wait, for metrics and tests. */
  waits = 0;

  constructor(
    readonly provider: string,
    store: RedisStore,
    readonly policy: BudgetOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.kv = store.kv("budget");
    this.windowMs = policy.windowMs ?? 60_000;
  }

  /** Waits until one request of `tokens` fits in the budget, then reserves it. */
  async acquire(tokens: number, signal?: AbortSignal): Promise<BudgetReservation> {
    const { requestsPerMinute: rpm, tokensPerMinute: tpm } = this.policy;
    let waitedMs = 0;
    if (rpm <= 0 && tpm <= 0) return { waitedMs };
    for (;;) {
      signal?.throwIfAborted();
      const now = this.now();
      const window = Math.floor(now / this.windowMs);
      const windowEnd = (window + 1) * this.windowMs;
      const ttlMs = this.windowMs * 2;
      const nearEdge = windowEnd - now <= this.windowMs / 100;
      if (!nearEdge && (await this.tryReserve(window, tokens, ttlMs))) return { waitedMs };
      const wait = windowEnd - now + 1;
      this.waits++;
      waitedMs += wait;
      await sleep(wait, signal);
    }
  }

  private async tryReserve(window: number, tokens: number, ttlMs: number): Promise<boolean> {
    const { requestsPerMinute: rpm, tokensPerMinute: tpm } = this.policy;
    const requestsKey = `${this.provider}:requests:${window}`;
    const tokensKey = `${this.provider}:tokens:${window}`;
    if (rpm > 0) {
      const used = await this.kv.increment(requestsKey, { ttlMs });
      if (used > rpm) {
        await this.kv.increment(requestsKey, { by: -1 });
        return false;
      }
    }
    if (tpm > 0 && tokens > 0) {
      const used = await this.kv.increment(tokensKey, { by: tokens, ttlMs });
      if (used > tpm && used - tokens > 0) {
        await this.kv.increment(tokensKey, { by: -tokens });
        if (rpm > 0) await this.kv.increment(requestsKey, { by: -1 });
        return false;
      }
    }
    return true;
  }

  /** What the current window has used. */
  async usage(): Promise<{ window: number; requests: number; tokens: number }> {
    const window = Math.floor(this.now() / this.windowMs);
    const [requests, tokens] = await Promise.all([
      this.kv.get(`${this.provider}:requests:${window}`),
      this.kv.get(`${this.provider}:tokens:${window}`),
    ]);
    return { window, requests: Number(requests ?? 0), tokens: Number(tokens ?? 0) };
  }
}
