import {
  INBOUND_POLICY_NAMES,
  inboundPolicy,
  limitsOf,
  PROVIDER_BUDGETS,
} from "../../../lib/limits/policies";
import { breakerStates } from "../../../lib/recovery/operator";
import { can, requirePage } from "../../_lib/session";
import { PageHeader, Section, StatusBadge } from "../../_ui/bits";
import { DataTable } from "../../_ui/data-table";
import { formatCount, formatDuration, formatTime } from "../../_ui/format";
import { ResetBreakerForm } from "./forms";

export const dynamic = "force-dynamic";
export const metadata = { title: "Breakers and rate limits" };

type Search = Promise<Record<string, string | string[] | undefined>>;

const STATE_BADGE: Record<string, string> = { closed: "ok", "half-open": "degraded", open: "down" };

export default async function BreakersPage({ searchParams }: { searchParams: Search }) {
  const viewer = await requirePage("viewer");
  const params = await searchParams;
  const breakers = await breakerStates(viewer.runtime.breakers);
  const limits = limitsOf(viewer.runtime.config);
  const admin = can(viewer, "admin");
  return (
    <>
      <PageHeader
        title="Breakers and rate limits"
        description="A breaker opens after repeated failures of a dependency, so work waits instead of failing; it probes again after its cool-down. Reset one when you know the dependency is back."
      />
      {typeof params.reset === "string" ? (
        <p className="notice-ok mb-4" role="status">
          Breaker {params.reset} reset: closed.
        </p>
      ) : null}
      <div className="space-y-6">
        <Section title="Circuit breakers" id="breakers">
          <DataTable
            label="Circuit breakers"
            testId="breakers"
            rows={breakers}
            rowKey={(b) => b.name}
            columns={[
              { header: "Dependency", className: "font-medium", cell: (b) => b.name },
              {
                header: "State",
                cell: (b) => (
                  <>
                    <StatusBadge status={STATE_BADGE[b.state] ?? b.state} />{" "}
                    <span className="text-xs">{b.state}</span>
                    {b.reason ? <div className="muted text-xs">{b.reason}</div> : null}
                  </>
                ),
              },
              {
                header: "Failures",
                className: "text-xs tabular-nums",
                cell: (b) => (
                  <>
                    {b.consecutiveFailures} in a row
                    <div className="muted">
                      {b.windowFailures}/{b.windowCalls} of recent calls
                    </div>
                  </>
                ),
              },
              {
                header: "Last change",
                className: "text-xs",
                cell: (b) => (
                  <>
                    {b.openedAt ? `opened ${formatTime(b.openedAt)}` : "closed"}
                    {b.retryAt ? <div className="muted">probe {formatTime(b.retryAt)}</div> : null}
                  </>
                ),
              },
              {
                header: "Actions",
                srOnly: true,
                cell: (b) =>
                  admin && b.state !== "closed" ? <ResetBreakerForm name={b.name} /> : null,
              },
            ]}
          />
          {breakers.every((b) => b.state === "closed") ? (
            <p className="muted mt-2 text-sm">
              Every breaker is closed: all dependencies answer. Nothing to do.
            </p>
          ) : null}
        </Section>
        <Section title="Inbound rate limits" id="limits">
          <DataTable
            label="Inbound rate limits"
            rows={INBOUND_POLICY_NAMES.map((name) => ({ name, ...inboundPolicy(name, limits) }))}
            rowKey={(p) => p.name}
            columns={[
              { header: "Policy", className: "font-medium", cell: (p) => p.name },
              {
                header: "Limit",
                className: "tabular-nums",
                cell: (p) => `${formatCount(p.limit)} per ${formatDuration(p.windowMs)}`,
              },
              { header: "Applies to", className: "text-xs", cell: (p) => p.description },
            ]}
          />
          <p className="muted mt-2 text-xs">
            Override with RATE_LIMIT_OVERRIDES (e.g. search=60/1m). Provider budgets: OpenAI{" "}
            {formatCount(PROVIDER_BUDGETS.openai.requestsPerMinute)} requests and{" "}
            {formatCount(PROVIDER_BUDGETS.openai.tokensPerMinute)} tokens a minute; Cohere{" "}
            {formatCount(PROVIDER_BUDGETS.cohere.requestsPerMinute)} requests a minute.
          </p>
        </Section>
      </div>
    </>
  );
}
