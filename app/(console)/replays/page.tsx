import { getScorecard, listScorecards } from "../../../lib/replay/scorecard";
import { requirePage } from "../../_lib/session";
import { EmptyState, PageHeader, Section, StatusBadge, TableWrap } from "../../_ui/bits";
import { formatPercent, formatTime, shortId } from "../../_ui/format";

export const dynamic = "force-dynamic";
export const metadata = { title: "Replays" };

export default async function ReplaysPage() {
  const viewer = await requirePage("viewer");
  const { db } = viewer.runtime;
  const reports = await listScorecards(db, { limit: 20 });
  // The sign-off and the critical failures live in each report's scorecard.
  const cards = await Promise.all(reports.map((r) => getScorecard(db, r.id)));
  return (
    <>
      <PageHeader
        title="Replays"
        description="Recorded production events replayed against this build in a sandbox: pass rate, drift and critical failures against the release gate, and who signed each scorecard off."
      />
      {reports.length === 0 ? (
        <EmptyState title="No replay yet">
          The nightly replay writes a scorecard here. Replay a range yourself with{" "}
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
