import { alertsOverview } from "../../../lib/alerts/overview";
import { type CleanupPlan, listCleanupRuns } from "../../../lib/retention/cleanup";
import { can, requirePage } from "../../_lib/session";
import { EmptyState, PageHeader, Section, StatusBadge } from "../../_ui/bits";
import { DataTable } from "../../_ui/data-table";
import { formatCount, formatTime, shortId } from "../../_ui/format";
import { ChannelApprovalForm, CleanupDecisionForm } from "./forms";

export const dynamic = "force-dynamic";
export const metadata = { title: "Approvals" };

type Search = Promise<Record<string, string | string[] | undefined>>;

/** What a cleanup would delete, kind by kind, from its plan. */
function planLines(plan: CleanupPlan): { kind: string; count: number; detail?: string }[] {
  const archived = (plan.archive ?? []).flatMap((a) =>
    a.days.map((d) => ({ dataset: a.dataset, rows: d.rows })),
  );
  const excluded = plan.excludedDocuments ?? [];
  return [
    { kind: "Orphaned chunks", count: plan.orphanedChunks ?? 0 },
    { kind: "Documents of removed sources", count: plan.removedSourceDocuments ?? 0 },
    {
      kind: "Documents now excluded by their source's globs",
      count: excluded.reduce((n, e) => n + e.documents, 0),
      detail: excluded
        .map((e) => `${e.source}: ${e.documents} documents, ${e.chunks} chunks`)
        .join("; "),
    },
    {
      kind: "Stuck runs to mark failed",
      count: (plan.stuckRuns ?? []).length,
    },
    {
      kind: "Expired rows archived, then deleted",
      count: archived.reduce((n, a) => n + a.rows, 0),
      detail: [...new Set(archived.map((a) => a.dataset))].join(", "),
    },
    {
      kind: "Archive datasets expiring",
      count: (plan.archiveExpiry ?? []).length,
      detail: (plan.archiveExpiry ?? []).map((e) => `${e.dataset} before ${e.cutoff}`).join("; "),
    },
  ];
}

export default async function ApprovalsPage({ searchParams }: { searchParams: Search }) {
  const viewer = await requirePage("viewer");
  const params = await searchParams;
  const { db, config, breakers } = viewer.runtime;
  const [runs, alerts] = await Promise.all([
    listCleanupRuns(db, 50),
    alertsOverview(db, config.monitoring, breakers),
  ]);
  const pending = runs.filter((r) => r.status === "awaiting_approval" && !r.decision);
  const decided = runs.filter((r) => r.decision).slice(0, 10);
  const channels = alerts.channels.filter((c) => !c.approved && c.mode !== "off");
  const admin = can(viewer, "admin");
  return (
    <>
      <PageHeader
        title="Approvals"
        description="Work that waits for an admin: cleanups that would delete more than the threshold allows, and notification channels before their first message. Approve or reject with a reason; both are audited."
      />
      {typeof params.decided === "string" ? (
        <p className="notice-ok mb-4" role="status">
          Cleanup {params.decided === "reject" ? "rejected: nothing is deleted" : "approved"}; the
          waiting workflow was told.
        </p>
      ) : null}
      {typeof params.approved_channel === "string" ? (
        <p className="notice-ok mb-4" role="status">
          Channel {params.approved_channel} approved; what it held is released.
        </p>
      ) : null}
      {admin ? null : (
        <p className="muted mb-4 text-sm">Approving and rejecting need the admin role.</p>
      )}
      <div className="space-y-6">
        <Section title={`Cleanups awaiting approval (${pending.length})`} id="cleanups">
          {pending.length === 0 ? (
            <EmptyState title="No cleanup is waiting">
              The daily cleanup asks here only when it would delete more than its threshold. Run one
              with <code>ballast cleanup run</code>; decided ones are listed below.
            </EmptyState>
          ) : (
            <ul className="space-y-4">
              {pending.map((run) => {
                const plan = run.plan as unknown as CleanupPlan;
                return (
                  <li
                    key={run.id}
                    className="rounded-md border border-slate-200 p-4 dark:border-slate-700"
                    data-testid="pending-cleanup"
                  >
                    <p className="text-sm">
                      <strong>Cleanup {shortId(run.id)}</strong> · {run.trigger}
                      {run.requestedBy ? ` by ${run.requestedBy}` : ""} · planned{" "}
                      {formatTime(run.startedAt)}
                    </p>
                    {run.approvalRequired ? (
                      <p className="notice-error mt-2 text-sm">{run.approvalRequired}</p>
                    ) : null}
                    <div className="mt-2">
                      <DataTable
                        label={`What cleanup ${shortId(run.id)} would delete`}
                        rows={planLines(plan)}
                        rowKey={(line) => line.kind}
                        columns={[
                          {
                            header: "Would delete",
                            cell: (line) => (
                              <>
                                {line.kind}
                                {line.detail ? (
                                  <div className="muted text-xs">{line.detail}</div>
                                ) : null}
                              </>
                            ),
                          },
                          {
                            header: "Count",
                            className: "tabular-nums",
                            cell: (line) => formatCount(line.count),
                          },
                        ]}
                      />
                    </div>
                    {(plan.sourcesOverThreshold ?? []).length > 0 ? (
                      <p className="mt-2 text-sm">
                        Over the threshold:{" "}
                        {(plan.sourcesOverThreshold ?? [])
                          .map((s) => `${s.source} loses ${s.chunks} of ${s.of} chunks`)
                          .join("; ")}
                      </p>
                    ) : null}
                    {admin ? (
                      <div className="mt-3">
                        <CleanupDecisionForm runId={run.id} />
                      </div>
                    ) : null}
                  </li>
                );
              })}
            </ul>
          )}
        </Section>
        <Section title={`Channels awaiting approval (${channels.length})`} id="channels">
          {channels.length === 0 ? (
            <p className="muted text-sm">
              Every configured notification channel is approved (or none is configured; see Alerts).
            </p>
          ) : (
            <ul className="space-y-4">
              {channels.map((c) => (
                <li
                  key={c.id}
                  className="rounded-md border border-slate-200 p-4 dark:border-slate-700"
                  data-testid="pending-channel"
                >
                  <p className="text-sm">
                    <strong>{c.id}</strong> ({c.kind}, {c.mode}) would notify {c.recipients}{" "}
                    recipient{c.recipients === 1 ? "" : "s"} at {c.domain}; its notifications are
                    held until approved.
                  </p>
                  {admin ? (
                    <div className="mt-3">
                      <ChannelApprovalForm channel={c.id} />
                    </div>
                  ) : null}
                </li>
              ))}
            </ul>
          )}
        </Section>
        <Section title="Recent decisions" id="decided">
          {decided.length === 0 ? (
            <p className="muted text-sm">No cleanup decision yet.</p>
          ) : (
            <ul className="space-y-1 text-sm" data-testid="decided-cleanups">
              {decided.map((run) => (
                <li key={run.id}>
                  Cleanup {shortId(run.id)} <StatusBadge status={run.status} /> {run.decision}d by{" "}
                  {run.decidedBy}: “{run.decisionReason}”{" "}
                  <span className="muted text-xs">{formatTime(run.decidedAt)}</span>
                </li>
              ))}
            </ul>
          )}
        </Section>
      </div>
    </>
  );
}
