import { and, eq, inArray } from "drizzle-orm";
import type { Database } from "../../db/client";
import { alertRuleState, alerts } from "../../db/schema";
import { raiseAlert, resolveAlert } from "../alerts/records";
import type { Figure } from "./figures";
import { type AlertRule, clears, compare } from "./rules";

export interface Evaluation {
  /** Keys that fired this tick (new alert records). */
  fired: string[];
  /** Keys resolved this tick. */
  resolved: string[];
  /** Keys whose condition holds but not yet for the rule's `for` duration. */
  pending: string[];
  /** Keys still firing. */
  firing: string[];
}

/** The dedupe key of a rule instance: the rule id, plus the label value when the figure has one. */
export function instanceKey(rule: Pick<AlertRule, "id">, labels: Record<string, string>): string {
  const values = Object.keys(labels)
    .sort()
    .map((k) => labels[k] ?? "");
  if (values.length === 0) return rule.id;
  const suffix = values
    .join("/")
    .replace(/[^\w.@/-]+/g, "_")
    .slice(0, 150);
  return `${rule.id}:${suffix}`;
}

function format(rule: AlertRule, value: number): string {
  switch (rule.unit) {
    case "ratio":
      return `${(value * 100).toFixed(value < 0.1 ? 2 : 1)} %`;
    case "seconds":
      return value >= 3600
        ? `${(value / 3600).toFixed(1)} h`
        : value >= 60
          ? `${(value / 60).toFixed(1)} min`
          : `${Math.round(value)} s`;
    case "usd":
      return `$${value.toFixed(2)}`;
    case "bool":
      return value >= 1 ? "up" : "down";
    default:
      return String(Math.round(value));
  }
}

/**
 * Evaluates every rule against this tick's figures: a condition that held for the rule's
 * `for` duration raises an alert record (lib/alerts/records.ts, the one place alerts are
 * raised); a firing alert whose resolve condition held for `resolveForMs` is resolved. The
 * state between ticks lives in alert_rule_state, so any instance can run the next tick.
 * A rule without data this tick (a figure nobody recorded) changes nothing.
 */
export async function evaluateRules(
  db: Database,
  rules: readonly AlertRule[],
  figures: readonly Figure[],
  now: Date,
  options: { correlationId?: string } = {},
): Promise<Evaluation> {
  const result: Evaluation = { fired: [], resolved: [], pending: [], firing: [] };
  const ruleIds = rules.map((r) => r.id);
  const states = new Map(
    (await db.select().from(alertRuleState).where(inArray(alertRuleState.rule, ruleIds))).map(
      (s) => [s.key, s],
    ),
  );
  const firing = new Set(
    (
      await db
        .select({ key: alerts.key })
        .from(alerts)
        .where(and(eq(alerts.status, "firing"), inArray(alerts.rule, ruleIds)))
    ).map((r) => r.key),
  );

  for (const rule of rules) {
    const instances = figures.filter((f) => f.name === rule.figure);
    if (!rule.enabled) {
      for (const key of firing)
        if (key === rule.id || key.startsWith(`${rule.id}:`)) {
          await resolveAlert(db, key, "rule disabled");
          result.resolved.push(key);
        }
      continue;
    }
    for (const figure of instances) {
      const key = instanceKey(rule, figure.labels);
      const state = states.get(key);
      const holds = compare(figure.value, rule.op, rule.threshold);
      let pendingSince = state?.pendingSince ?? null;
      let clearSince = state?.clearSince ?? null;
      if (holds) {
        clearSince = null;
        pendingSince ??= now;
        const heldMs = now.getTime() - pendingSince.getTime();
        if (heldMs >= rule.forMs) {
          const labels = Object.entries(figure.labels)
            .map(([k, v]) => `${k} ${v}`)
            .join(", ");
          const { created } = await raiseAlert(db, {
            key,
            rule: rule.id,
            severity: rule.severity,
            summary: `${rule.description}${labels ? ` (${labels})` : ""}: ${format(rule, figure.value)}, threshold ${rule.op} ${format(rule, rule.threshold)}`,
            details: {
              figure: rule.figure,
              labels: figure.labels,
              value: figure.value,
              threshold: rule.threshold,
              op: rule.op,
              heldMs,
            },
            correlationId: options.correlationId ?? null,
          });
          (created ? result.fired : result.firing).push(key);
        } else result.pending.push(key);
      } else {
        pendingSince = null;
        if (firing.has(key)) {
          if (clears(rule, figure.value)) {
            clearSince ??= now;
            if (now.getTime() - clearSince.getTime() >= rule.resolveForMs) {
              await resolveAlert(
                db,
                key,
                `${rule.figure} back to ${format(rule, figure.value)} (threshold ${rule.op} ${format(rule, rule.threshold)})`,
              );
              result.resolved.push(key);
              clearSince = null;
            } else result.firing.push(key);
          } else {
            clearSince = null;
            result.firing.push(key);
          }
        }
      }
      const changed =
        !state ||
        state.pendingSince?.getTime() !== pendingSince?.getTime() ||
        state.clearSince?.getTime() !== clearSince?.getTime() ||
        state.lastValue !== figure.value;
      if (changed)
        await db
          .insert(alertRuleState)
          .values({
            key,
            rule: rule.id,
            pendingSince,
            clearSince,
            lastValue: figure.value,
            updatedAt: now,
          })
          .onConflictDoUpdate({
            target: alertRuleState.key,
            set: { pendingSince, clearSince, lastValue: figure.value, updatedAt: now },
          });
    }
  }
  return result;
}
