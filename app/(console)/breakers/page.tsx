import {
  INBOUND_POLICY_NAMES,
  inboundPolicy,
  limitsOf,
  PROVIDER_BUDGETS,
} from "../../../lib/limits/policies";
import { breakerStates } from "../../../lib/recovery/operator";
import { can, requirePage } from "../../_lib/session";
import { PageHeader, Section, StatusBadge, TableWrap } from "../../_ui/bits";
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
          <TableWrap label="Circuit breakers">
            <table className="table" data-testid="breakers">
              <thead>
                <tr>
                  <th scope="col">Dependency</th>
                  <th scope="col">State</th>
                  <th scope="col">Failures</th>
                  <th scope="col">Last change</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {breakers.map((b) => (
                  <tr key={b.name}>
                    <td className="font-medium">{b.name}</td>
                    <td>
                      <StatusBadge status={STATE_BADGE[b.state] ?? b.state} />{" "}
                      <span className="text-xs">{b.state}</span>
                      {b.reason ? <div className="muted text-xs">{b.reason}</div> : null}
                    </td>
                    <td className="text-xs tabular-nums">
                      {b.consecutiveFailures} in a row
                      <div className="muted">
                        {b.windowFailures}/{b.windowCalls} of recent calls
                      </div>
                    </td>
                    <td className="text-xs">
                      {b.openedAt ? `opened ${formatTime(b.openedAt)}` : "closed"}
                      {b.retryAt ? (
                        <div className="muted">probe {formatTime(b.retryAt)}</div>
                      ) : null}
                    </td>
                    <td>
                      {admin && b.state !== "closed" ? <ResetBreakerForm name={b.name} /> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
          {breakers.every((b) => b.state === "closed") ? (
            <p className="muted mt-2 text-sm">
              Every breaker is closed: all dependencies answer. Nothing to do.
            </p>
          ) : null}
        </Section>
        <Section title="Inbound rate limits" id="limits">
          <TableWrap label="Inbound rate limits">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Policy</th>
                  <th scope="col">Limit</th>
                  <th scope="col">Applies to</th>
                </tr>
              </thead>
              <tbody>
                {INBOUND_POLICY_NAMES.map((name) => {
                  const p = inboundPolicy(name, limits);
                  return (
                    <tr key={name}>
                      <td className="font-medium">{name}</td>
                      <td className="tabular-nums">
                        {formatCount(p.limit)} per {formatDuration(p.windowMs)}
                      </td>
                      <td className="text-xs">{p.description}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
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
