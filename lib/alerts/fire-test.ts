import { and, eq, inArray } from "drizzle-orm";
import { notifications } from "../../db/schema";
import { BallastError } from "../errors";
import { type MonitorDeps, notifyConfigOf } from "../monitoring/monitor";
import { effectiveRules, RULE_IDS } from "../monitoring/rules";
import { deliverNotifications, planNotifications } from "./notify";
import { raiseAlert, resolveAlert } from "./records";

/**
 * A fire-test: a synthetic firing of one rule through the real path — an alert record, the
 * notification outbox, each channel's mode, approval, breaker and URL policy, the real send —
 * then its resolution the same way. Working hours, limits and cooldown do not hold it back
 * (an operator asked for it now); everything else does, and the report says what happened.
 */
export interface ChannelOutcome {
  channel: string;
  status: string;
  at: string | null;
  reason: string | null;
}

export interface FireTestReport {
  rule: string;
  key: string;
  raisedAt: string;
  deliveredAt: string | null;
  resolvedAt: string | null;
  resolvedDeliveredAt: string | null;
  firing: ChannelOutcome[];
  resolved: ChannelOutcome[];
  /** Every channel delivered (or recorded, in log-only mode) both the firing and the resolution. */
  ok: boolean;
}

const FINAL = new Set(["sent", "logged", "suppressed", "dead", "awaiting_approval"]);
const DELIVERED = new Set(["sent", "logged"]);

export async function fireTest(
  deps: MonitorDeps,
  ruleId: string,
  options: { actor: string; timeoutMs?: number; pollMs?: number },
): Promise<FireTestReport> {
  const rule = effectiveRules(deps.config.monitoring.ruleOverrides).find((r) => r.id === ruleId);
  if (!rule)
    throw new BallastError(
      "not_found",
      `no alert rule ${JSON.stringify(ruleId)} (rules: ${RULE_IDS.join(", ")})`,
      404,
      false,
    );
  if (deps.config.monitoring.channels.length === 0)
    throw new BallastError(
      "no_channels",
      "no notification channel is configured (ALERT_SLACK_WEBHOOK_URL, ALERT_WEBHOOK_URL, ALERT_SMTP_URL)",
      409,
      false,
    );
  const timeoutMs = options.timeoutMs ?? 30_000;
  const pollMs = options.pollMs ?? 500;
  const cfg = notifyConfigOf(deps);
  const key = `fire-test:${rule.id}:${Date.now()}`;
  const { alert } = await raiseAlert(deps.db, {
    key,
    rule: rule.id,
    severity: rule.severity,
    summary: `[fire-test] ${rule.description} (synthetic, by ${options.actor.slice(0, 80)})`,
    details: { synthetic: true, actor: options.actor.slice(0, 80) },
  });

  const settle = async (kind: "firing" | "resolved"): Promise<ChannelOutcome[]> => {
    await planNotifications(deps.db, cfg, new Date(), { alertIds: [alert.id], test: true });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await deps.db
        .select()
        .from(notifications)
        .where(and(eq(notifications.alertId, alert.id), eq(notifications.kind, kind)));
      const open = rows.filter((r) => !FINAL.has(r.status));
      if (open.length === 0 || Date.now() >= deadline)
        return rows
          .map((r) => ({
            channel: r.channel,
            status: r.status,
            at: r.sentAt?.toISOString() ?? null,
            reason: r.status === "sent" ? null : (r.reason ?? r.lastError),
          }))
          .sort((a, b) => a.channel.localeCompare(b.channel));
      await deliverNotifications(deps.db, cfg, new Date(), {
        ids: open.map((r) => r.id),
      });
      if (
        (
          await deps.db
            .select({ status: notifications.status })
            .from(notifications)
            .where(
              inArray(
                notifications.id,
                open.map((r) => r.id),
              ),
            )
        ).some((r) => !FINAL.has(r.status))
      )
        await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  };

  const firing = await settle("firing");
  const resolvedRecord = await resolveAlert(deps.db, key, "fire-test complete");
  const resolved = await settle("resolved");
  const latest = (outcomes: ChannelOutcome[]) => {
    const times = outcomes
      .filter((o) => DELIVERED.has(o.status) && o.at)
      .map((o) => o.at as string);
    return times.length === outcomes.length && times.length > 0
      ? (times.sort().at(-1) ?? null)
      : null;
  };
  return {
    rule: rule.id,
    key,
    raisedAt: alert.firstRaisedAt.toISOString(),
    deliveredAt: latest(firing),
    resolvedAt: resolvedRecord?.resolvedAt?.toISOString() ?? null,
    resolvedDeliveredAt: latest(resolved),
    firing,
    resolved,
    ok: latest(firing) !== null && latest(resolved) !== null,
  };
}
