import Link from "next/link";
import { listAlerts } from "../../../lib/alerts/records";
import { dlqDepth } from "../../../lib/recovery/dlq";
import { breakerStates } from "../../../lib/recovery/operator";
import type { Viewer } from "../../_lib/session";
import { Section, Stat } from "../../_ui/bits";
import { formatTime } from "../../_ui/format";

/** Dead-letter queue depth: what waits for a retry, what ran out of retries. */
export async function DlqPanel({ viewer }: { viewer: Viewer }) {
  const depth = await dlqDepth(viewer.runtime.db);
  const open = depth.pending + depth.parked + depth.redriven;
  return (
    <Section
      title="Dead-letter queue"
      id="panel-dlq"
      actions={<Link href="/dlq">Open the queue</Link>}
    >
      <dl className="grid grid-cols-3 gap-4" data-testid="panel-dlq">
        <Stat label="Pending" value={depth.pending} />
        <Stat label="Parked" value={depth.parked} />
        <Stat label="Retrying" value={depth.redriven} />
      </dl>
      <p className="muted mt-3 text-sm">
        {open === 0
          ? "Empty: nothing has exhausted its retries. Failures that do land here for a retry or a discard."
          : depth.parked > 0
            ? "Parked entries are out of automatic retries: retry them once the cause is fixed, or discard them with a reason."
            : "Pending entries are retried automatically after their backoff."}
      </p>
    </Section>
  );
}

/** Breakers that are not closed: a dependency that keeps failing. */
export async function BreakersPanel({ viewer }: { viewer: Viewer }) {
  const open = (await breakerStates(viewer.runtime.breakers)).filter((b) => b.state !== "closed");
  return (
    <Section
      title={`Open breakers (${open.length})`}
      id="panel-breakers"
      actions={<Link href="/breakers">Breakers</Link>}
    >
      {open.length === 0 ? (
        <p className="muted text-sm">
          Every breaker is closed: every dependency answers. Nothing to do.
        </p>
      ) : (
        <ul className="space-y-1 text-sm" data-testid="panel-breakers">
          {open.map((b) => (
            <li key={b.name}>
              <strong>{b.name}</strong> {b.state} since {formatTime(b.openedAt)}
              {b.reason ? <span className="muted"> · {b.reason}</span> : null}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

/** Alerts firing now. */
export async function FiringAlertsPanel({ viewer }: { viewer: Viewer }) {
  const firing = await listAlerts(viewer.runtime.db, { status: "firing", limit: 10 });
  return (
    <Section
      title={`Firing alerts (${firing.length})`}
      id="panel-alerts"
      actions={<Link href="/alerts">Alerts</Link>}
    >
      {firing.length === 0 ? (
        <p className="muted text-sm">
          Nothing is firing. To check that alerts reach you, fire a test from the Alerts page.
        </p>
      ) : (
        <ul className="space-y-1 text-sm" data-testid="panel-alerts">
          {firing.map((a) => (
            <li key={a.id}>
              <strong>{a.rule}</strong> ({a.severity}) {a.summary}
              <span className="muted text-xs"> · since {formatTime(a.firstRaisedAt)}</span>
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}
