import type { Command } from "commander";
import type { NotificationStatus } from "../../../db/schema";
import { ValidationError } from "../../errors";
import type { CliContext } from "../context";
import { table } from "../output";

const minutes = (ms: number) =>
  ms === 0 ? "0" : ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${Math.round(ms / 60_000)}m`;
const STATUSES = [
  "pending",
  "delayed",
  "awaiting_approval",
  "sent",
  "logged",
  "suppressed",
  "dead",
];

export function registerAlertCommands(program: Command, ctx: CliContext): void {
  const alerts = program
    .command("alerts")
    .description("alert rules, channels, notifications and fire-tests");
  alerts
    .command("list")
    .description(
      "the rule table, the channels (mode, approval, breaker), firing alerts and recent notifications",
    )
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const { db, config, breakers } = await ctx.getRuntime();
      const { alertsOverview } = await import("../../alerts/overview");
      const view = await alertsOverview(db, config.monitoring, breakers);
      if (opts.json) return ctx.io.out(JSON.stringify(view, null, 2));
      ctx.io.out("Rules");
      ctx.io.out(
        table(
          ["rule", "condition", "for", "severity", "cooldown", "resolve after", "enabled"],
          view.rules.map((r) => [
            r.id,
            r.condition,
            minutes(r.forMs),
            r.severity,
            minutes(r.cooldownMs),
            minutes(r.resolveForMs),
            r.enabled ? "yes" : "no",
          ]),
        ),
      );
      ctx.io.out("Channels");
      ctx.io.out(
        view.channels.length === 0
          ? "  none configured (ALERT_SLACK_WEBHOOK_URL, ALERT_WEBHOOK_URL, ALERT_SMTP_URL)"
          : table(
              ["channel", "mode", "destination", "recipients", "approved", "breaker"],
              view.channels.map((c) => [
                c.id,
                c.mode,
                c.domain,
                c.recipients,
                c.approved ? "yes" : "no (ballast alerts approve)",
                c.breaker,
              ]),
            ),
      );
      ctx.io.out(
        `Guardrails: ${view.guardrails.limits.hourly}/hour, ${view.guardrails.limits.daily}/day, ${view.guardrails.limits.perDomainHourly}/hour per domain; working hours ${view.guardrails.workingHours}`,
      );
      ctx.io.out(`Firing: ${view.firing.length}`);
      if (view.firing.length > 0)
        ctx.io.out(
          table(
            ["key", "severity", "since", "summary"],
            view.firing.map((a) => [a.key, a.severity, a.firstRaisedAt, a.summary]),
          ),
        );
    });
  alerts
    .command("notifications")
    .description("recent notifications with their status and reason")
    .option("--status <status>", STATUSES.join(" | "))
    .option("--limit <n>", "how many (1-1000)", "50")
    .action(async (opts: { status?: string; limit: string }) => {
      if (opts.status && !STATUSES.includes(opts.status))
        throw new ValidationError(`--status must be one of ${STATUSES.join(", ")}`);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new ValidationError("--limit must be a whole number from 1 to 1000");
      const { db } = await ctx.getRuntime();
      const { listNotifications } = await import("../../alerts/notify");
      const rows = await listNotifications(db, {
        status: opts.status as NotificationStatus | undefined,
        limit,
      });
      ctx.io.out(
        table(
          ["created", "key", "kind", "channel", "status", "reason"],
          rows.map((n) => [n.createdAt, n.alertKey, n.kind, n.channel, n.status, n.reason]),
        ),
      );
    });
  alerts
    .command("approve <channel>")
    .description(
      "approve a notification channel as configured now (a new or changed channel waits for this)",
    )
    .action(async (channel: string) => {
      const { db, config } = await ctx.getRuntime();
      const [{ approveChannel }, { recordAudit }] = await Promise.all([
        import("../../alerts/notify"),
        import("../../auth/audit"),
      ]);
      const result = await approveChannel(db, config.monitoring, channel, ctx.actor());
      await recordAudit(db, {
        actor: ctx.actor(),
        action: "alerts.channel.approve",
        target: channel,
        result: "ok",
        details: { released: result.released },
      });
      ctx.io.out(
        `✓ channel ${result.channel} approved; ${result.released} held notification(s) released`,
      );
    });
  alerts
    .command("fire-test <rule>")
    .description(
      "raise a synthetic firing of <rule> through the real delivery path, confirm delivery, then clear it",
    )
    .option("--timeout <seconds>", "how long to wait for each delivery", "30")
    .option("--json", "print JSON")
    .action(async (rule: string, opts: { timeout: string; json?: boolean }) => {
      const seconds = Number(opts.timeout);
      if (!Number.isFinite(seconds) || seconds < 1 || seconds > 600)
        throw new ValidationError("--timeout must be 1-600 seconds");
      const runtime = await ctx.getRuntime();
      const [{ fireTest }, { recordAudit }] = await Promise.all([
        import("../../alerts/fire-test"),
        import("../../auth/audit"),
      ]);
      const report = await fireTest(
        {
          db: runtime.db,
          redis: runtime.redis,
          breakers: runtime.breakers,
          config: runtime.config,
        },
        rule,
        {
          actor: ctx.actor(),
          timeoutMs: seconds * 1000,
        },
      );
      await recordAudit(runtime.db, {
        actor: ctx.actor(),
        action: "alerts.fire_test",
        target: rule,
        result: report.ok ? "ok" : "error",
        details: { key: report.key },
      });
      if (!report.ok) ctx.exitCode = 1;
      if (opts.json) return ctx.io.out(JSON.stringify(report, null, 2));
      const outcome = (list: typeof report.firing) =>
        list.map((o) => `${o.channel} ${o.status}${o.reason ? ` (${o.reason})` : ""}`).join("; ");
      ctx.io.out(`fire-test ${report.rule} (${report.key})`);
      ctx.io.out(`  raised              ${report.raisedAt}`);
      ctx.io.out(
        `  delivered           ${report.deliveredAt ?? "NOT DELIVERED"}  ${outcome(report.firing)}`,
      );
      ctx.io.out(`  resolved            ${report.resolvedAt ?? "-"}`);
      ctx.io.out(
        `  resolved delivered  ${report.resolvedDeliveredAt ?? "NOT DELIVERED"}  ${outcome(report.resolved)}`,
      );
      ctx.io.out(
        report.ok
          ? "✓ every channel delivered the firing and the resolution"
          : "✗ not every channel delivered (see the reasons above)",
      );
    });
}
