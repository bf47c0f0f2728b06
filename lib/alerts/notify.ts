import { and, asc, desc, eq, gte, inArray, lte, ne, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import {
  alerts,
  channelApprovals,
  type NotificationKind,
  type NotificationStatus,
  notifications,
} from "../../db/schema";
import type { ChannelConfig, MonitoringConfig } from "../config";
import { BallastError, BreakerOpenError, errorMessage, isRetryable } from "../errors";
import { effectiveRules } from "../monitoring/rules";
import { type BreakerRegistry, channelBreakerName } from "../resilience/breaker";
import { OutboundUrlError, type Resolver, type UrlPolicy } from "../security/url-policy";
import {
  channelDomain,
  channelFingerprint,
  channelRecipients,
  type NotificationMessage,
  renderText,
  sendToChannel,
} from "./channels";
import { describeWorkingHours, insideWorkingHours, nextWindowStart } from "./guardrails";

/**
 * From alert records to notifications, through the guardrails, to the channels.
 *
 * planNotifications (the outbox write): every firing alert record — raised by a monitor rule or
 * by any workflow through lib/alerts/records.ts — gets one `firing` row per configured channel,
 * and every resolved one whose firing went out gets one `resolved` row. What must not go out
 * is written anyway, with its reason: channel off, cooldown, a new channel awaiting approval.
 *
 * deliverNotifications (the send): due rows pass the working-hours window (non-critical wait),
 * the hourly / daily / per-domain limits, the channel's mode (log-only records, sends nothing),
 * the channel's breaker (`alerts.<id>` in the shared registry), and the outbound URL policy; a failed send stays pending with backoff,
 * so nothing is lost while a channel is down.
 */

/** Cooldown of alerts raised by workflows outside the rule table (a failed sync, …). */
export const DEFAULT_COOLDOWN_MS = 30 * 60_000;
export const MAX_DELIVERY_ATTEMPTS = 20;
const RESOLVED_LOOKBACK = "7 days";

export interface NotifyConfig {
  monitoring: MonitoringConfig;
  /** The shared breakers: each channel's is `alerts.<channel id>`. */
  breakers: BreakerRegistry;
  policy: UrlPolicy;
  resolve?: Resolver;
}

export interface PlanResult {
  queued: number;
  /** Rows written as suppressed or awaiting approval (with their reasons). */
  held: number;
}

interface Decision {
  status: NotificationStatus;
  reason: string | null;
}

async function approved(db: Database, channel: ChannelConfig): Promise<boolean> {
  const [row] = await db
    .select()
    .from(channelApprovals)
    .where(
      and(
        eq(channelApprovals.channel, channel.id),
        eq(channelApprovals.fingerprint, channelFingerprint(channel)),
      ),
    );
  return row !== undefined;
}

/** An admin's approval of a channel as configured now (its URL or recipients fingerprinted). */
export async function approveChannel(
  db: Database,
  monitoring: MonitoringConfig,
  channelId: string,
  approvedBy: string,
): Promise<{ channel: string; released: number }> {
  const channel = monitoring.channels.find((c) => c.id === channelId);
  if (!channel) throw new UnknownChannelError(channelId, monitoring);
  await db
    .insert(channelApprovals)
    .values({ channel: channel.id, fingerprint: channelFingerprint(channel), approvedBy })
    .onConflictDoNothing();
  const released = await db
    .update(notifications)
    .set({ status: "pending", reason: `approved by ${approvedBy}`, nextAttemptAt: new Date() })
    .where(
      and(eq(notifications.channel, channel.id), eq(notifications.status, "awaiting_approval")),
    )
    .returning({ id: notifications.id });
  return { channel: channel.id, released: released.length };
}

export class UnknownChannelError extends BallastError {
  constructor(channelId: string, monitoring: MonitoringConfig) {
    super(
      "not_found",
      `no notification channel ${JSON.stringify(channelId)} is configured (configured: ${monitoring.channels.map((c) => c.id).join(", ") || "none"})`,
      404,
      false,
    );
  }
}

/** The rules' cooldowns by rule id. */
function cooldownOf(monitoring: MonitoringConfig, rule: string): number {
  return (
    effectiveRules(monitoring.ruleOverrides).find((r) => r.id === rule)?.cooldownMs ??
    DEFAULT_COOLDOWN_MS
  );
}

export async function planNotifications(
  db: Database,
  config: NotifyConfig,
  now: Date,
  options: { alertIds?: string[]; test?: boolean } = {},
): Promise<PlanResult> {
  const result: PlanResult = { queued: 0, held: 0 };
  const { monitoring } = config;
  if (monitoring.channels.length === 0) return result;
  if (options.alertIds?.length === 0) return result;
  const only = options.alertIds ? inArray(alerts.id, options.alertIds) : undefined;

  for (const channel of monitoring.channels) {
    const isApproved = await approved(db, channel);
    // Firing alerts without a firing row for this channel.
    const firing = await db
      .select()
      .from(alerts)
      .where(
        and(
          eq(alerts.status, "firing"),
          only,
          sql`not exists (select 1 from notifications n where n.alert_id = ${alerts.id} and n.channel = ${channel.id} and n.kind = 'firing')`,
        ),
      )
      .orderBy(asc(alerts.firstRaisedAt))
      .limit(500);
    for (const alert of firing) {
      let decision: Decision = { status: "pending", reason: null };
      const test = options.test === true || alert.key.startsWith("fire-test:");
      if (channel.mode === "off")
        decision = {
          status: "suppressed",
          reason: `channel ${channel.id} is off (its mode setting)`,
        };
      else if (!test) {
        const cooldownMs = cooldownOf(monitoring, alert.rule);
        const [recent] = await db
          .select({ createdAt: notifications.createdAt, status: notifications.status })
          .from(notifications)
          .where(
            and(
              eq(notifications.alertKey, alert.key),
              eq(notifications.channel, channel.id),
              eq(notifications.kind, "firing"),
              ne(notifications.status, "suppressed"),
              gte(notifications.createdAt, new Date(now.getTime() - cooldownMs)),
            ),
          )
          .orderBy(desc(notifications.createdAt))
          .limit(1);
        if (recent)
          decision = {
            status: "suppressed",
            reason: `cooldown: a firing notification for ${alert.key} was queued at ${recent.createdAt.toISOString()} (cooldown ${Math.round(cooldownMs / 60_000)} min)`,
          };
      }
      if (decision.status === "pending") {
        const recipients = channelRecipients(channel);
        if (!isApproved)
          decision = {
            status: "awaiting_approval",
            reason: `new channel ${channel.id} (${channelDomain(channel)}) awaits an admin's approval: ballast alerts approve ${channel.id}`,
          };
        else if (recipients > monitoring.approvalRecipients)
          decision = {
            status: "awaiting_approval",
            reason: `would notify ${recipients} recipients (more than ALERT_APPROVAL_RECIPIENTS=${monitoring.approvalRecipients}); an admin must approve: ballast alerts approve ${channel.id}`,
          };
      }
      if (await insertRow(db, alert, channel, "firing", decision, test, now))
        decision.status === "pending" ? result.queued++ : result.held++;
    }

    // Resolved alerts (recently) with a firing row but no resolved row for this channel.
    const resolved = await db
      .select({
        alert: alerts,
        firingStatus: notifications.status,
        firingReason: notifications.reason,
        firingId: notifications.id,
      })
      .from(alerts)
      .innerJoin(
        notifications,
        and(
          eq(notifications.alertId, alerts.id),
          eq(notifications.channel, channel.id),
          eq(notifications.kind, "firing"),
        ),
      )
      .where(
        and(
          eq(alerts.status, "resolved"),
          only,
          sql`${alerts.resolvedAt} > ${now.toISOString()}::timestamptz - ${RESOLVED_LOOKBACK}::interval`,
          sql`not exists (select 1 from notifications n where n.alert_id = ${alerts.id} and n.channel = ${channel.id} and n.kind = 'resolved')`,
        ),
      )
      .limit(500);
    for (const { alert, firingStatus, firingReason, firingId } of resolved) {
      const test = alert.key.startsWith("fire-test:");
      let decision: Decision;
      if (firingStatus === "sent" || firingStatus === "logged")
        decision = { status: "pending", reason: null };
      else if (firingStatus === "suppressed" || firingStatus === "dead")
        decision = {
          status: "suppressed",
          reason: `its firing notification was not delivered (${firingReason ?? firingStatus})`,
        };
      else {
        // Still waiting (working hours, approval, a channel down): it no longer needs to go out.
        await db
          .update(notifications)
          .set({
            status: "suppressed",
            reason: `resolved before delivery (was ${firingStatus}: ${firingReason ?? ""})`,
          })
          .where(eq(notifications.id, firingId));
        decision = {
          status: "suppressed",
          reason: "the alert resolved before its firing notification went out",
        };
      }
      if (await insertRow(db, alert, channel, "resolved", decision, test, now))
        decision.status === "pending" ? result.queued++ : result.held++;
    }
  }
  return result;
}

async function insertRow(
  db: Database,
  alert: typeof alerts.$inferSelect,
  channel: ChannelConfig,
  kind: NotificationKind,
  decision: Decision,
  test: boolean,
  now: Date,
): Promise<boolean> {
  const rows = await db
    .insert(notifications)
    .values({
      alertId: alert.id,
      alertKey: alert.key,
      rule: alert.rule,
      severity: alert.severity,
      kind,
      channel: channel.id,
      domain: channelDomain(channel),
      status: decision.status,
      reason: decision.reason,
      test,
      nextAttemptAt: now,
      createdAt: now,
    })
    .onConflictDoNothing()
    .returning({ id: notifications.id });
  return rows.length > 0;
}

export interface DeliveryResult {
  sent: number;
  logged: number;
  delayed: number;
  suppressed: number;
  failed: number;
}

function backoffMs(attempts: number): number {
  return Math.min(60 * 60_000, 30_000 * 2 ** Math.max(0, attempts - 1));
}

async function countSent(db: Database, since: Date, domain?: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(notifications)
    .where(
      and(
        inArray(notifications.status, ["sent", "logged"]),
        gte(notifications.sentAt, since),
        eq(notifications.test, false),
        domain ? eq(notifications.domain, domain) : undefined,
      ),
    );
  return Number(row?.n ?? 0);
}

/** Sends what is due (or just `ids`, due or not: a fire-test). Never throws for a channel failure. */
export async function deliverNotifications(
  db: Database,
  config: NotifyConfig,
  now: Date,
  options: { ids?: string[]; limit?: number } = {},
): Promise<DeliveryResult> {
  const result: DeliveryResult = { sent: 0, logged: 0, delayed: 0, suppressed: 0, failed: 0 };
  if (options.ids?.length === 0) return result;
  const { monitoring } = config;
  const rows = await db
    .select({ n: notifications, alert: alerts })
    .from(notifications)
    .innerJoin(alerts, eq(alerts.id, notifications.alertId))
    .where(
      and(
        inArray(notifications.status, ["pending", "delayed"]),
        options.ids
          ? inArray(notifications.id, options.ids)
          : lte(notifications.nextAttemptAt, now),
      ),
    )
    .orderBy(
      sql`case ${notifications.severity} when 'critical' then 0 when 'warning' then 1 else 2 end`,
      asc(notifications.createdAt),
    )
    .limit(options.limit ?? 100);

  const mark = (id: string, set: Partial<typeof notifications.$inferInsert>) =>
    db.update(notifications).set(set).where(eq(notifications.id, id));
  const hourAgo = new Date(now.getTime() - 3600_000);
  const dayAgo = new Date(now.getTime() - 24 * 3600_000);

  for (const { n, alert } of rows) {
    const channel = monitoring.channels.find((c) => c.id === n.channel);
    if (!channel) {
      await mark(n.id, {
        status: "suppressed",
        reason: `channel ${n.channel} is no longer configured`,
      });
      result.suppressed++;
      continue;
    }
    if (channel.mode === "off") {
      await mark(n.id, {
        status: "suppressed",
        reason: `channel ${channel.id} is off (its mode setting)`,
      });
      result.suppressed++;
      continue;
    }
    if (!n.test) {
      const hours = monitoring.workingHours;
      if (hours && n.severity !== "critical" && !insideWorkingHours(hours, now)) {
        const opens = nextWindowStart(hours, now);
        await mark(n.id, {
          status: "delayed",
          nextAttemptAt: opens,
          reason: `outside working hours (${describeWorkingHours(hours)}); ${n.severity} waits until ${opens.toISOString()}`,
        });
        result.delayed++;
        continue;
      }
      const limits: [number, Date, string | undefined, string][] = [
        [
          monitoring.limits.hourly,
          hourAgo,
          undefined,
          `hourly limit of ${monitoring.limits.hourly} notifications reached (ALERT_LIMIT_HOURLY)`,
        ],
        [
          monitoring.limits.daily,
          dayAgo,
          undefined,
          `daily limit of ${monitoring.limits.daily} notifications reached (ALERT_LIMIT_DAILY)`,
        ],
        [
          monitoring.limits.perDomainHourly,
          hourAgo,
          n.domain,
          `hourly limit of ${monitoring.limits.perDomainHourly} notifications to ${n.domain} reached (ALERT_LIMIT_PER_DOMAIN_HOURLY)`,
        ],
      ];
      let limited: string | undefined;
      for (const [limit, since, domain, reason] of limits)
        if ((await countSent(db, since, domain)) >= limit) {
          limited = reason;
          break;
        }
      if (limited) {
        await mark(n.id, { status: "suppressed", reason: limited });
        result.suppressed++;
        continue;
      }
    }
    const message: NotificationMessage = {
      id: n.id,
      kind: n.kind,
      key: alert.key,
      rule: alert.rule,
      severity: alert.severity,
      summary: alert.summary,
      details: alert.details,
      firstRaisedAt: alert.firstRaisedAt.toISOString(),
      resolvedAt: alert.resolvedAt?.toISOString() ?? null,
      resolution: alert.resolution,
      test: n.test,
    };
    if (channel.mode === "log-only") {
      await mark(n.id, {
        status: "logged",
        sentAt: new Date(),
        reason: `log-only: recorded, not sent (${channel.id} mode)`,
        receipt: { text: renderText(message) },
      });
      result.logged++;
      continue;
    }
    // The channel's breaker (`alerts.<id>`, the shared registry, at this tick's time): open,
    // the notification waits until its retry time; half-open, this send is the probe.
    const breaker = config.breakers.at(channelBreakerName(channel.id), () => now.getTime());
    try {
      const receipt = await breaker.run(() =>
        sendToChannel(channel, message, {
          policy: config.policy,
          resolve: config.resolve,
        }),
      );
      await mark(n.id, {
        status: "sent",
        sentAt: new Date(),
        attempts: n.attempts + 1,
        receipt,
        lastError: null,
      });
      result.sent++;
    } catch (error) {
      if (error instanceof BreakerOpenError) {
        const retryAt = new Date(error.retryAt);
        await mark(n.id, {
          status: "pending",
          nextAttemptAt: retryAt,
          reason: `channel ${channel.id} is failing (breaker open); waits until ${retryAt.toISOString()}`,
        });
        result.failed++;
        continue;
      }
      const text = errorMessage(error).slice(0, 500);
      const attempts = n.attempts + 1;
      if (error instanceof OutboundUrlError) {
        await mark(n.id, {
          status: "dead",
          attempts,
          lastError: text,
          reason: `refused by the outbound URL policy: ${text}`,
        });
      } else if (!isRetryable(error) || attempts >= MAX_DELIVERY_ATTEMPTS) {
        await mark(n.id, {
          status: "dead",
          attempts,
          lastError: text,
          reason: `gave up after ${attempts} attempt(s): ${text}`,
        });
      } else {
        // Not before the breaker's retry time when this failure opened it.
        const after = await breaker.snapshot();
        const retryAt = new Date(
          Math.max(
            now.getTime() + backoffMs(attempts),
            after.retryAt ? Date.parse(after.retryAt) : 0,
          ),
        );
        await mark(n.id, {
          status: "pending",
          attempts,
          lastError: text,
          nextAttemptAt: retryAt,
          reason: `attempt ${attempts} failed; retry at ${retryAt.toISOString()}`,
        });
      }
      result.failed++;
    }
  }
  return result;
}

export interface NotificationView {
  id: string;
  alertKey: string;
  rule: string;
  severity: string;
  kind: NotificationKind;
  channel: string;
  status: NotificationStatus;
  reason: string | null;
  attempts: number;
  createdAt: string;
  sentAt: string | null;
  nextAttemptAt: string;
}

export async function listNotifications(
  db: Database,
  options: { limit?: number; alertKey?: string; status?: NotificationStatus } = {},
): Promise<NotificationView[]> {
  const rows = await db
    .select()
    .from(notifications)
    .where(
      and(
        options.alertKey ? eq(notifications.alertKey, options.alertKey) : undefined,
        options.status ? eq(notifications.status, options.status) : undefined,
      ),
    )
    .orderBy(desc(notifications.createdAt))
    .limit(Math.min(Math.max(options.limit ?? 100, 1), 1000));
  return rows.map((r) => ({
    id: r.id,
    alertKey: r.alertKey,
    rule: r.rule,
    severity: r.severity,
    kind: r.kind,
    channel: r.channel,
    status: r.status,
    reason: r.reason,
    attempts: r.attempts,
    createdAt: r.createdAt.toISOString(),
    sentAt: r.sentAt?.toISOString() ?? null,
    nextAttemptAt: r.nextAttemptAt.toISOString(),
  }));
}
