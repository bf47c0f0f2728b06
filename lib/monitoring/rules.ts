/**
 * The alert rules, in one table. Each rule watches one figure the monitor computes (or that a
 * workflow records, such as the replay pass rate), per label value when the figure has one
 * (a source, a channel): each value is its own alert under the dedupe key `<rule>:<label>`.
 *
 * - `threshold` / `op`: the firing condition (value op threshold);
 * - `forMs`: the condition must hold this long before the alert fires (0: at once);
 * - `resolve`: the condition that clears it (default: the firing condition no longer holds),
 *   held for `resolveForMs`, so a flapping figure does not resolve and fire again each tick;
 * - `cooldownMs`: after a firing notification, another for the same key within this time is
 *   suppressed (recorded with its reason);
 * - `severity`: critical goes out at any hour; the others wait for the working-hours window.
 *
 * Every value can be overridden by ALERT_RULES (lib/config/schema.ts) without a deploy.
 */
export type Severity = "info" | "warning" | "critical";
export type Comparison = ">" | ">=" | "<" | "<=";

export interface RuleSettings {
  enabled: boolean;
  threshold: number;
  forMs: number;
  severity: Severity;
  cooldownMs: number;
  resolveForMs: number;
  /** Clears when `value <resolveOp> resolveThreshold`; default: the firing condition is false. */
  resolveThreshold?: number;
}

export interface AlertRule extends RuleSettings {
  id: string;
  /** What it means, for notifications and `ballast alerts list`. */
  description: string;
  /** The figure it watches (lib/monitoring/figures.ts) and its unit, for messages. */
  figure: string;
  unit: "ratio" | "count" | "seconds" | "usd" | "bool";
  op: Comparison;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export const DEFAULT_RULES: readonly AlertRule[] = [
  {
    id: "replay-pass-rate",
    description: "Replay pass rate below 95 %",
    figure: "replay_pass_rate",
    unit: "ratio",
    op: "<",
    threshold: 0.95,
    forMs: 0,
    severity: "critical",
    cooldownMs: HOUR,
    resolveForMs: 0,
    enabled: true,
  },
  {
    id: "redis-unreachable",
    description: "Redis unreachable for 2 minutes",
    figure: "redis_up",
    unit: "bool",
    op: "<",
    threshold: 1,
    forMs: 2 * MINUTE,
    severity: "critical",
    cooldownMs: 30 * MINUTE,
    resolveForMs: 5 * MINUTE,
    enabled: true,
  },
  {
    id: "inngest-unreachable",
    description: "Inngest unreachable (events cannot be sent) for 2 minutes",
    figure: "inngest_up",
    unit: "bool",
    op: "<",
    threshold: 1,
    forMs: 2 * MINUTE,
    severity: "critical",
    cooldownMs: 30 * MINUTE,
    resolveForMs: 5 * MINUTE,
    enabled: true,
  },
  {
    id: "outbox-aging",
    description: "Oldest pending outbox event older than 2 hours",
    figure: "outbox_oldest_age_seconds",
    unit: "seconds",
    op: ">",
    threshold: 2 * 3600,
    forMs: 0,
    severity: "warning",
    cooldownMs: 2 * HOUR,
    resolveForMs: 10 * MINUTE,
    enabled: true,
  },
  {
    id: "run-queue-aging",
    description: "Oldest queued run or job older than 2 hours",
    figure: "run_queue_oldest_age_seconds",
    unit: "seconds",
    op: ">",
    threshold: 2 * 3600,
    forMs: 0,
    severity: "warning",
    cooldownMs: 2 * HOUR,
    resolveForMs: 10 * MINUTE,
    enabled: true,
  },
  {
    id: "error-rate",
    description: "Document error rate above 1 % over 15 minutes",
    figure: "error_rate_15m",
    unit: "ratio",
    op: ">",
    threshold: 0.01,
    forMs: 0,
    severity: "warning",
    cooldownMs: HOUR,
    resolveForMs: 15 * MINUTE,
    enabled: true,
  },
  {
    id: "dlq-depth",
    description: "Dead-letter queue deeper than 100 entries",
    figure: "dlq_depth",
    unit: "count",
    op: ">",
    threshold: 100,
    forMs: 0,
    severity: "warning",
    cooldownMs: 6 * HOUR,
    resolveForMs: 0,
    enabled: true,
  },
  {
    id: "dlq-age",
    description: "Oldest dead-letter entry older than 24 hours",
    figure: "dlq_oldest_age_seconds",
    unit: "seconds",
    op: ">",
    threshold: 24 * 3600,
    forMs: 0,
    severity: "warning",
    cooldownMs: 12 * HOUR,
    resolveForMs: 0,
    enabled: true,
  },
  {
    id: "breaker-open",
    description: "A circuit breaker open for more than 10 minutes",
    figure: "breaker_open_seconds",
    unit: "seconds",
    op: ">",
    threshold: 600,
    forMs: 0,
    severity: "warning",
    cooldownMs: HOUR,
    resolveForMs: 0,
    enabled: true,
  },
  {
    id: "daily-cost",
    description: "Today's embedding cost over the daily budget",
    figure: "budget_use_ratio",
    unit: "ratio",
    op: ">",
    threshold: 1,
    forMs: 0,
    severity: "critical",
    cooldownMs: 12 * HOUR,
    resolveForMs: 0,
    enabled: true,
  },
  {
    id: "sync-slo",
    description: "A sync slower than its SLO (1,000 documents in 5 minutes)",
    figure: "sync_slo_ratio",
    unit: "ratio",
    op: ">",
    threshold: 1,
    forMs: 0,
    severity: "warning",
    cooldownMs: 6 * HOUR,
    resolveForMs: 0,
    enabled: true,
  },
];

export const RULE_IDS: readonly string[] = DEFAULT_RULES.map((r) => r.id);

/** The rule table with overrides applied (overrides name known rules; config checks that). */
export function effectiveRules(
  overrides: Readonly<Record<string, Partial<RuleSettings>>> = {},
): AlertRule[] {
  return DEFAULT_RULES.map((rule) => ({ ...rule, ...(overrides[rule.id] ?? {}) }));
}

export function compare(value: number, op: Comparison, threshold: number): boolean {
  switch (op) {
    case ">":
      return value > threshold;
    case ">=":
      return value >= threshold;
    case "<":
      return value < threshold;
    case "<=":
      return value <= threshold;
  }
}

/** Whether the value clears a firing alert of this rule. */
export function clears(rule: AlertRule, value: number): boolean {
  if (rule.resolveThreshold === undefined) return !compare(value, rule.op, rule.threshold);
  const resolveOp: Comparison = rule.op === ">" || rule.op === ">=" ? "<=" : ">=";
  return compare(value, resolveOp, rule.resolveThreshold);
}

/** "15m", "2h", "30s", "1d" or plain milliseconds → milliseconds; undefined when not a duration. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(value.trim());
  if (!match) return undefined;
  const n = Number(match[1]);
  const unit = { ms: 1, s: 1000, m: MINUTE, h: HOUR, d: 24 * HOUR }[match[2] ?? "ms"] ?? 1;
  return n * unit;
}
