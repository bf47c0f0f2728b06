/**
 * Circuit breakers around Ballast's external dependencies (embedding providers, GitHub, S3)
 * and its notification channels (`alerts.<channel>`).
 *
 * State lives in the Redis store (`ballast:<env>:breaker:<name>:*`), so every instance agrees;
 * on the embedded defaults that is the in-process store. Per dependency:
 *
 *   closed     calls pass. It opens after `failureThreshold` consecutive failures, or when at
 *              least `failureRate` of the last `windowSize` calls failed (a count window).
 *   open       calls fail fast with BreakerOpenError (retryable, carrying when to retry) until
 *              `openMs` has passed since it opened.
 *   half-open  after that, exactly one caller (a NX lock on `:probe`) makes a probe call:
 *              success closes the breaker, failure opens it for another `openMs`. Other callers
 *              keep failing fast meanwhile.
 *
 * Only failures that say the dependency is unwell count: timeouts, network errors, 5xx
 * (classifyError's retryable classes other than rate limits). A 4xx (a bad request, a wrong
 * key) or a 429 (handled by the budgets and Retry-After) leaves the breaker as it is.
 */
import { randomUUID } from "node:crypto";
import { BreakerOpenError } from "../errors";
import type { KeyValue, RedisStore } from "../redis";
import { classifyError } from "./retry";

export type BreakerState = "closed" | "open" | "half-open";

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. Default 5. */
  failureThreshold: number;
  /** Failure share over the count window that opens it (0-1). Default 0.5. */
  failureRate: number;
  /** Calls in the count window. Default 20. */
  windowSize: number;
  /** How long it stays open before one probe is let through. Default 30,000. */
  openMs: number;
  /** How long one probe may take before another caller may probe. Default 60,000. */
  probeTimeoutMs: number;
}

export const BREAKER_DEFAULTS: BreakerOptions = {
  failureThreshold: 5,
  failureRate: 0.5,
  windowSize: 20,
  openMs: 30_000,
  probeTimeoutMs: 60_000,
};

export interface BreakerSnapshot {
  name: string;
  state: BreakerState;
  consecutiveFailures: number;
  /** Calls and failures in the current count window. */
  windowCalls: number;
  windowFailures: number;
  /** ISO time it opened, and when the next probe may go (open / half-open only). */
  openedAt: string | null;
  retryAt: string | null;
  /** Why it opened last. */
  reason: string | null;
  options: BreakerOptions;
}

interface StoredOpen {
  openedAt: number;
  retryAt: number;
  reason: string;
}

/** Whether a failure counts against the dependency's health. */
export function countsAsDependencyFailure(error: unknown): boolean {
  const verdict = classifyError(error);
  return (
    verdict.retryable &&
    verdict.errorClass !== "rate_limited" &&
    verdict.errorClass !== "breaker_open"
  );
}

export class CircuitBreaker {
  private readonly kv: KeyValue;
  constructor(
    readonly name: string,
    store: RedisStore,
    readonly options: BreakerOptions = BREAKER_DEFAULTS,
    private readonly now: () => number = Date.now,
  ) {
    this.kv = store.kv("breaker");
  }

  private key(part: string): string {
    return `${this.name}:${part}`;
  }

  private parseOpen(raw: string | null): StoredOpen | null {
    if (!raw) return null;
    try {
      const parsed = JSON.parse(raw) as StoredOpen;
      return typeof parsed.retryAt === "number" ? parsed : null;
    } catch {
      return null;
    }
  }

  private async readOpen(): Promise<StoredOpen | null> {
    return this.parseOpen(await this.kv.get(this.key("open")));
  }

  /**
   * Runs `call` through the breaker: fails fast while open, lets one probe through when
   * half-open, and records the outcome.
   *
   * One round trip to the store on the usual path (closed, success): the open flag, the
   * consecutive-failure count and the call count are read and incremented together before the
   * call, issued at once (the Upstash client auto-pipelines them: its read and write pipelines
   * go concurrently). A success then writes only when there is something to reset (failures
   * before it, or a full count window). Calls are counted when they start; a concurrent
   * success no longer resets a failure recorded after its check.
   */
  async run<T>(call: () => Promise<T>): Promise<T> {
    const [rawOpen, consecutiveBefore, calls] = await Promise.all([
      this.kv.get(this.key("open")),
      this.kv.get(this.key("consecutive")),
      this.kv.increment(this.key("calls")),
    ]);
    const open = this.parseOpen(rawOpen);
    let probeToken: string | null = null;
    if (open) {
      const now = this.now();
      if (now < open.retryAt) throw new BreakerOpenError(this.name, open.retryAt, now);
      const token = randomUUID();
      const won = await this.kv.set(this.key("probe"), token, {
        onlyIfAbsent: true,
        ttlMs: this.options.probeTimeoutMs,
      });
      if (!won)
        throw new BreakerOpenError(this.name, now + Math.min(1000, this.options.openMs), now);
      probeToken = token;
    }
    let result: T;
    try {
      result = await call();
    } catch (error) {
      if (countsAsDependencyFailure(error))
        await this.recordFailure(error, probeToken !== null, calls);
      else if (probeToken) await this.kv.delete(this.key("probe"));
      throw error;
    }
    await this.recordSuccess(probeToken !== null, Number(consecutiveBefore ?? 0), calls);
    return result;
  }

  private async recordSuccess(probe: boolean, consecutive: number, calls: number): Promise<void> {
    if (probe) {
      await this.close();
      return;
    }
    if (consecutive !== 0) await this.kv.set(this.key("consecutive"), "0");
    if (calls >= this.options.windowSize) await this.evaluateWindow(calls, "success");
  }

  private async recordFailure(error: unknown, probe: boolean, calls: number): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    if (probe) {
      await this.open(`probe failed: ${message}`);
      await this.kv.delete(this.key("probe"));
      return;
    }
    const [consecutive] = await Promise.all([
      this.kv.increment(this.key("consecutive")),
      this.kv.increment(this.key("failures")),
    ]);
    if (consecutive >= this.options.failureThreshold) {
      await this.open(`${consecutive} consecutive failures; last: ${message}`);
      return;
    }
    if (calls >= this.options.windowSize) await this.evaluateWindow(calls, message);
  }

  /** At the end of a count window: open when the failure share reached the rate; start a new window. */
  private async evaluateWindow(calls: number, last: string): Promise<void> {
    const failures = Number((await this.kv.get(this.key("failures"))) ?? 0);
    await this.kv.set(this.key("calls"), "0");
    await this.kv.set(this.key("failures"), "0");
    if (failures > 0 && failures / calls >= this.options.failureRate)
      await this.open(`${failures} of the last ${calls} calls failed; last: ${last}`);
  }

  private async open(reason: string): Promise<void> {
    const openedAt = this.now();
    const stored: StoredOpen = { openedAt, retryAt: openedAt + this.options.openMs, reason };
    await this.kv.set(this.key("open"), JSON.stringify(stored));
  }

  /** Closes the breaker and clears its counters (a successful probe, or an operator's reset). */
  async close(): Promise<void> {
    await this.kv.delete(this.key("open"));
    await this.kv.delete(this.key("probe"));
    await this.kv.set(this.key("consecutive"), "0");
    await this.kv.set(this.key("calls"), "0");
    await this.kv.set(this.key("failures"), "0");
  }

  async state(): Promise<BreakerState> {
    const open = await this.readOpen();
    if (!open) return "closed";
    return this.now() < open.retryAt ? "open" : "half-open";
  }

  async snapshot(): Promise<BreakerSnapshot> {
    const [open, consecutive, calls, failures] = await Promise.all([
      this.readOpen(),
      this.kv.get(this.key("consecutive")),
      this.kv.get(this.key("calls")),
      this.kv.get(this.key("failures")),
    ]);
    const state: BreakerState = !open ? "closed" : this.now() < open.retryAt ? "open" : "half-open";
    return {
      name: this.name,
      state,
      consecutiveFailures: Number(consecutive ?? 0),
      windowCalls: Number(calls ?? 0),
      windowFailures: Number(failures ?? 0),
      openedAt: open ? new Date(open.openedAt).toISOString() : null,
      retryAt: open ? new Date(open.retryAt).toISOString() : null,
      reason: open?.reason ?? null,
      options: this.options,
    };
  }
}

/** The dependencies Ballast guards. */
export const DEPENDENCIES = ["embedding:openai", "embedding:cohere", "github", "s3"] as const;
export type Dependency = (typeof DEPENDENCIES)[number];
/** A notification channel's breaker: `alerts.<channel id>` (alerts.slack, alerts.webhook…). */
export type ChannelBreakerName = `alerts.${string}`;
export type BreakerName = Dependency | ChannelBreakerName;

export function isDependency(name: string): name is Dependency {
  return (DEPENDENCIES as readonly string[]).includes(name);
}

export function channelBreakerName(channelId: string): ChannelBreakerName {
  return `alerts.${channelId}`;
}

/**
 * Notification channels open sooner (3 consecutive failures) and probe after a minute: a
 * notification waits (kept, not lost) while its channel's breaker is open.
 */
export const CHANNEL_BREAKER_DEFAULTS: BreakerOptions = {
  ...BREAKER_DEFAULTS,
  failureThreshold: 3,
  openMs: 60_000,
};

/**
 * One breaker per guarded name over one store: the external dependencies (BREAKER_* variables,
 * BREAKER_OVERRIDES for one dependency) and the configured notification channels
 * (`alerts.<id>`, CHANNEL_BREAKER_DEFAULTS). Every name shows in snapshots(): the admin API,
 * health, the monitor's figures and `ballast breakers`.
 */
export class BreakerRegistry {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly channelNames: ChannelBreakerName[];
  constructor(
    readonly store: RedisStore,
    private readonly defaults: BreakerOptions = BREAKER_DEFAULTS,
    private readonly overrides: Partial<Record<string, Partial<BreakerOptions>>> = {},
    private readonly now: () => number = Date.now,
    channels: readonly string[] = [],
  ) {
    this.channelNames = channels.map(channelBreakerName);
  }

  /** Every breaker name this registry reports: the dependencies, then the channels. */
  names(): BreakerName[] {
    return [...DEPENDENCIES, ...this.channelNames];
  }

  has(name: string): name is BreakerName {
    return (this.names() as string[]).includes(name);
  }

  private optionsOf(name: BreakerName): BreakerOptions {
    return isDependency(name)
      ? { ...this.defaults, ...this.overrides[name] }
      : { ...CHANNEL_BREAKER_DEFAULTS, ...this.overrides[name] };
  }

  get(name: BreakerName): CircuitBreaker {
    let breaker = this.breakers.get(name);
    if (!breaker) {
      breaker = new CircuitBreaker(name, this.store, this.optionsOf(name), this.now);
      this.breakers.set(name, breaker);
    }
    return breaker;
  }

  /**
   * The same breaker (same state in the store) read against another clock: the monitor
   * delivers notifications "at" its tick's time, which tests inject.
   */
  at(name: BreakerName, now: () => number): CircuitBreaker {
    return new CircuitBreaker(name, this.store, this.optionsOf(name), now);
  }

  async snapshots(): Promise<BreakerSnapshot[]> {
    return Promise.all(this.names().map((name) => this.get(name).snapshot()));
  }
}

/**
 * Parses BREAKER_OVERRIDES: `name:key=value,key=value;name:key=value`, e.g.
 * `github:openMs=60000,failureThreshold=3;s3:openMs=10000`. Returns the overrides or a list of
 * problems (the config module reports them).
 */
export function parseBreakerOverrides(text: string | undefined): {
  overrides: Record<string, Partial<BreakerOptions>>;
  problems: string[];
} {
  const overrides: Record<string, Partial<BreakerOptions>> = {};
  const problems: string[] = [];
  if (!text?.trim()) return { overrides, problems };
  for (const part of text.split(";")) {
    const trimmed = part.trim();
    if (!trimmed) continue;
    const colon = trimmed.lastIndexOf(":");
    const name = colon > 0 ? trimmed.slice(0, colon) : "";
    if (!isDependency(name)) {
      problems.push(
        `"${trimmed.slice(0, 40)}": the dependency must be one of ${DEPENDENCIES.join(", ")}`,
      );
      continue;
    }
    const settings: Partial<BreakerOptions> = {};
    for (const pair of trimmed.slice(colon + 1).split(",")) {
      const [key, value] = pair.split("=").map((s) => s.trim());
      const number = Number(value);
      if (!key || !(key in BREAKER_DEFAULTS) || !Number.isFinite(number) || number <= 0) {
        problems.push(
          `${name}: "${pair.slice(0, 40)}" is not key=positive number with key one of ${Object.keys(BREAKER_DEFAULTS).join(", ")}`,
        );
        continue;
      }
      if (key === "failureRate" && number > 1) {
        problems.push(`${name}: failureRate must be at most 1`);
        continue;
      }
      settings[key as keyof BreakerOptions] = number;
    }
    overrides[name] = settings;
  }
  return { overrides, problems };
}
