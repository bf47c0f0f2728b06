import type { Database } from "../../db/client";
import { channelApprovals } from "../../db/schema";
import type { MonitoringConfig } from "../config";
import { effectiveRules } from "../monitoring/rules";
import { type BreakerRegistry, channelBreakerName } from "../resilience/breaker";
import { channelDomain, channelFingerprint, channelRecipients } from "./channels";
import { describeWorkingHours } from "./guardrails";
import { listNotifications } from "./notify";
import { listAlerts } from "./records";

/** The alerting picture for `ballast alerts list` and GET /api/admin/alerts: never a URL or secret. */
export async function alertsOverview(
  db: Database,
  monitoring: MonitoringConfig,
  breakers: BreakerRegistry,
) {
  const approvals = await db.select().from(channelApprovals);
  const health = await Promise.all(
    monitoring.channels.map((c) => breakers.get(channelBreakerName(c.id)).snapshot()),
  );
  return {
    rules: effectiveRules(monitoring.ruleOverrides).map((r) => ({
      id: r.id,
      description: r.description,
      figure: r.figure,
      condition: `${r.figure} ${r.op} ${r.threshold}`,
      forMs: r.forMs,
      severity: r.severity,
      cooldownMs: r.cooldownMs,
      resolveForMs: r.resolveForMs,
      enabled: r.enabled,
    })),
    channels: monitoring.channels.map((c, i) => {
      const h = health[i];
      return {
        id: c.id,
        kind: c.kind,
        mode: c.mode,
        domain: channelDomain(c),
        recipients: channelRecipients(c),
        approved: approvals.some(
          (a) => a.channel === c.id && a.fingerprint === channelFingerprint(c),
        ),
        breaker: h?.state ?? "closed",
        consecutiveFailures: h?.consecutiveFailures ?? 0,
      };
    }),
    guardrails: {
      limits: monitoring.limits,
      workingHours: monitoring.workingHours
        ? describeWorkingHours(monitoring.workingHours)
        : "any time",
      approvalRecipients: monitoring.approvalRecipients,
    },
    firing: (await listAlerts(db, { status: "firing", limit: 100 })).map((a) => ({
      key: a.key,
      rule: a.rule,
      severity: a.severity,
      summary: a.summary,
      occurrences: a.occurrences,
      firstRaisedAt: a.firstRaisedAt.toISOString(),
    })),
    notifications: await listNotifications(db, { limit: 50 }),
  };
}
