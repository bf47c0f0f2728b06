import Link from "next/link";
import { alertsOverview } from "../../../lib/alerts/overview";
import { listAlerts } from "../../../lib/alerts/records";
import { can, requirePage } from "../../_lib/session";
import { EmptyState, PageHeader, Section, StatusBadge } from "../../_ui/bits";
import { DataTable } from "../../_ui/data-table";
import { formatAgo, formatDuration, formatTime } from "../../_ui/format";
import { FireTestForm } from "./forms";

export const dynamic = "force-dynamic";
export const metadata = { title: "Alerts" };

const MODE_STYLE: Record<string, string> = {
  live: "bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100",
  "log-only": "bg-sky-100 text-sky-900 dark:bg-sky-900 dark:text-sky-100",
  off: "bg-slate-200 text-slate-900 dark:bg-slate-700 dark:text-slate-100",
};

export default async function AlertsPage() {
  const viewer = await requirePage("viewer");
  const { db, config, breakers } = viewer.runtime;
  const [overview, resolved] = await Promise.all([
    alertsOverview(db, config.monitoring, breakers),
    listAlerts(db, { status: "resolved", limit: 50 }),
  ]);
  const admin = can(viewer, "admin");
  const canFire = admin && overview.channels.length > 0;
  return (
    <>
      <PageHeader
        title="Alerts"
        description="The monitor evaluates these rules every minute; a firing alert is delivered to each channel by its mode (live sends, log-only records, off suppresses), within the guardrails below."
      />
      <div className="space-y-6">
        <Section title={`Firing (${overview.firing.length})`} id="firing">
          {overview.firing.length === 0 ? (
            <p className="muted text-sm">
              Nothing is firing. Rules below fire on their thresholds; use a fire test to check the
              delivery path end to end.
            </p>
          ) : (
            <ul className="space-y-2 text-sm" data-testid="firing-alerts">
              {overview.firing.map((a) => (
                <li key={a.key}>
                  <StatusBadge status={a.severity === "critical" ? "failed" : "degraded"} />{" "}
                  <strong>{a.rule}</strong> {a.summary}
                  <div className="muted text-xs">
                    since {formatTime(a.firstRaisedAt)} · {a.occurrences} occurrences · {a.key}
                  </div>
                </li>
              ))}
            </ul>
          )}
        </Section>
        <Section title="Channels" id="channels">
          <DataTable
            label="Channels"
            testId="channels"
            rows={overview.channels}
            rowKey={(c) => c.id}
            empty={
              <EmptyState title="No notification channel">
                Alerts are recorded but go nowhere. Set ALERT_SLACK_WEBHOOK_URL, ALERT_WEBHOOK_URL
                or ALERT_SMTP_URL (docs/deploy.md), each with its mode (ALERT_*_MODE: live, log-only
                or off).
              </EmptyState>
            }
            columns={[
              { header: "Channel", className: "font-medium", cell: (c) => c.id },
              {
                header: "Mode",
                cell: (c) => (
                  <span className={`badge ${MODE_STYLE[c.mode] ?? MODE_STYLE.off}`}>{c.mode}</span>
                ),
              },
              {
                header: "Destination",
                className: "text-xs",
                cell: (c) => (
                  <>
                    {c.domain} · {c.recipients} recipient{c.recipients === 1 ? "" : "s"}
                  </>
                ),
              },
              {
                header: "Approved",
                cell: (c) =>
                  c.approved ? "yes" : <Link href="/approvals#channels">awaiting approval</Link>,
              },
              {
                header: "Breaker",
                cell: (c) => (
                  <>
                    <StatusBadge status={c.breaker === "closed" ? "ok" : c.breaker} />
                    {c.consecutiveFailures > 0 ? (
                      <span className="muted text-xs"> {c.consecutiveFailures} failures</span>
                    ) : null}
                  </>
                ),
              },
            ]}
          />
          <p className="muted mt-3 text-xs">
            Guardrails: at most {overview.guardrails.limits.hourly} notifications an hour and{" "}
            {overview.guardrails.limits.daily} a day; sent {overview.guardrails.workingHours}; more
            than {overview.guardrails.approvalRecipients} recipients need an admin's approval.
          </p>
        </Section>
        <Section title={`Rules (${overview.rules.length})`} id="rules">
          <DataTable
            label="Alert rules"
            testId="rules"
            rows={overview.rules}
            rowKey={(r) => r.id}
            rowTestId={(r) => `rule-${r.id}`}
            columns={[
              {
                header: "Rule",
                cell: (r) => (
                  <>
                    <span className="font-medium">{r.id}</span>
                    {r.enabled ? null : <span className="muted"> (disabled)</span>}
                    <div className="muted text-xs">{r.description}</div>
                  </>
                ),
              },
              {
                header: "Fires when",
                className: "font-mono text-xs",
                cell: (r) => (
                  <>
                    {r.condition}
                    <div className="muted">for {formatDuration(r.forMs)}</div>
                  </>
                ),
              },
              { header: "Severity", cell: (r) => r.severity },
              {
                header: "Cooldown",
                className: "text-xs",
                cell: (r) => formatDuration(r.cooldownMs),
              },
              {
                header: "Actions",
                srOnly: true,
                cell: (r) => (canFire ? <FireTestForm rule={r.id} /> : null),
              },
            ]}
          />
          {admin && !canFire ? (
            <p className="muted mt-2 text-xs">Configure a channel to fire a test.</p>
          ) : null}
        </Section>
        <Section title="Resolved (latest 50)" id="resolved">
          {resolved.length === 0 ? (
            <p className="muted text-sm">No alert has resolved yet.</p>
          ) : (
            <ul className="space-y-1 text-sm" data-testid="resolved-alerts">
              {resolved.map((a) => (
                <li key={a.id}>
                  <strong>{a.rule}</strong> {a.summary}
                  <div className="muted text-xs">
                    {formatTime(a.firstRaisedAt)} → {formatTime(a.resolvedAt)}
                    {a.resolution ? ` · ${a.resolution}` : ""}
                  </div>
                </li>
              ))}
            </ul>
          )}
        </Section>
        <Section title="Recent notifications" id="notifications">
          <DataTable
            label="Notifications"
            rows={overview.notifications}
            rowKey={(n) => String(n.id)}
            empty={<p className="muted text-sm">No notification yet.</p>}
            columns={[
              { header: "Alert", className: "text-xs", cell: (n) => n.alertKey },
              { header: "Kind", cell: (n) => n.kind },
              { header: "Channel", cell: (n) => n.channel },
              {
                header: "Status",
                cell: (n) => (
                  <>
                    <StatusBadge status={n.status} />
                    {n.reason ? <div className="muted text-xs">{n.reason}</div> : null}
                  </>
                ),
              },
              { header: "Queued", className: "text-xs", cell: (n) => formatAgo(n.createdAt) },
            ]}
          />
        </Section>
      </div>
    </>
  );
}
