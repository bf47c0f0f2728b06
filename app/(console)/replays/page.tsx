import { getScorecard, listScorecards } from "../../../lib/replay/scorecard";
import { can, requirePage } from "../../_lib/session";
import { EmptyState, PageHeader, Section, StatusBadge, TableWrap } from "../../_ui/bits";
import { formatPercent, formatTime, shortId } from "../../_ui/format";
import { SignOffForm, StartReplayForm } from "./forms";

export const dynamic = "force-dynamic";
export const metadata = { title: "Replays" };

type Search = Promise<Record<string, string | string[] | undefined>>;

export default async function ReplaysPage({ searchParams }: { searchParams: Search }) {
  const viewer = await requirePage("viewer");
  const params = await searchParams;
  const { db, config } = viewer.runtime;
  const operator = can(viewer, "operator");
  const admin = can(viewer, "admin");
  const reports = await listScorecards(db, { limit: 20 });
  // The sign-off and the critical failures live in each report's scorecard.
  const cards = await Promise.all(reports.map((r) => getScorecard(db, r.id)));
  return (
    <>
      <PageHeader
        title="Replays"
        description="Recorded production events replayed against this build in a sandbox: pass rate, drift and critical failures against the release gate, and who signed each scorecard off."
      />
      {params.started === "1" ? (
        <p className="notice-ok mb-4" role="status">
          Replay queued: the replay workflow exports the range, replays it in a sandbox and adds its
          scorecard here.
        </p>
      ) : null}
      {params.signed === "approve" || params.signed === "reject" ? (
        <p className="notice-ok mb-4" role="status">
          Scorecard {params.signed === "approve" ? "approved (ship)" : "rejected (hold)"}; the
          reason is in its sign-off and the audit log.
        </p>
      ) : null}
      {operator ? (
        <div className="mb-6">
          <Section title="Start a replay" id="start">
            <StartReplayForm defaultMinPassRate={config.replay.minPassRate} />
          </Section>
        </div>
      ) : null}
      {reports.length === 0 ? (
        <EmptyState title="No replay yet">
          The nightly replay writes a scorecard here
          {operator ? ", and so does a replay started above" : ""}. From a shell:{" "}
          <code>ballast replay export --since … --until …</code>, then{" "}
          <code>ballast replay run --bundle …</code>.
        </EmptyState>
      ) : (
        <div className="space-y-6">
          <Section title={`Scorecards (${reports.length})`} id="scorecards">
            <TableWrap label="Replay scorecards">
              <table className="table" data-testid="scorecards">
                <thead>
                  <tr>
                    <th scope="col">Replay</th>
                    <th scope="col">Pass rate</th>
                    <th scope="col">Drift</th>
                    <th scope="col">Critical</th>
                    <th scope="col">Gate</th>
                    <th scope="col">Sign-off</th>
                  </tr>
                </thead>
                <tbody>
                  {cards.map(({ report, scorecard }) => (
                    <tr key={report.id}>
                      <td className="text-xs">
                        <span className="font-medium">{shortId(report.id)}</span> · {report.trigger}
                        <div className="muted">
                          {formatTime(report.createdAt)} · bundle{" "}
                          {report.bundleRef ?? shortId(report.bundleId)} · {report.events} events
                        </div>
                      </td>
                      <td className="tabular-nums">
                        {formatPercent(report.passRate)}
                        <div className="muted text-xs">min {formatPercent(report.minPassRate)}</div>
                      </td>
                      <td className="tabular-nums">{report.drift}</td>
                      <td className="tabular-nums">
                        {report.critical}
                        {(scorecard.criticalFailures ?? []).slice(0, 3).map((c) => (
                          <div key={`${c.runId}:${c.event}`} className="muted text-xs">
                            {c.source}: {c.reasons.join("; ").slice(0, 160)}
                          </div>
                        ))}
                      </td>
                      <td>
                        <StatusBadge status={report.gatePassed ? "ok" : "failed"} />
                        <span className="sr-only">{report.gatePassed ? " passed" : " failed"}</span>
                      </td>
                      <td className="text-xs">
                        {scorecard.signOff?.decision ? (
                          <>
                            {scorecard.signOff.decision} by {scorecard.signOff.by}
                            <div className="muted">{formatTime(scorecard.signOff.at)}</div>
                          </>
                        ) : (
                          <span className="muted">not signed off</span>
                        )}
                        {scorecard.signOff?.note ? (
                          <div className="muted">{scorecard.signOff.note}</div>
                        ) : null}
                        {admin ? (
                          <SignOffForm id={report.id} label={`replay ${shortId(report.id)}`} />
                        ) : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          </Section>
        </div>
      )}
    </>
  );
}
