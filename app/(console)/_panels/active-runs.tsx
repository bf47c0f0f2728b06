import Link from "next/link";
import { listRunRows } from "../../../lib/console/queries";
import type { Viewer } from "../../_lib/session";
import { Section, StatusBadge } from "../../_ui/bits";
import { formatAgo, formatCount, shortId } from "../../_ui/format";
import { LiveActivity } from "../../_ui/live-activity";

/** Syncs queued or running now; the list follows the runs live (Server-Sent Events). */
export async function ActiveRunsPanel({ viewer }: { viewer: Viewer }) {
  const rows = await listRunRows(viewer.runtime.db, { statuses: ["running", "queued"], limit: 10 });
  return (
    <Section title="Syncs in progress" id="active-runs">
      <LiveActivity>
        {rows.length === 0 ? (
          <p className="muted text-sm">
            Nothing is syncing. Start one from <Link href="/sources">Sources</Link>; pushes to a
            GitHub source start one by themselves.
          </p>
        ) : (
          <ul className="divide-y divide-slate-100 dark:divide-slate-800">
            {rows.map((run) => (
              <li
                key={run.id}
                className="flex flex-wrap items-center justify-between gap-2 py-2 text-sm"
              >
                <span>
                  <Link href={`/runs/${run.id}`}>{run.source}</Link>{" "}
                  <span className="muted">
                    {shortId(run.id)} · {run.requestedMode} · queued {formatAgo(run.queuedAt)}
                  </span>
                </span>
                <span className="flex items-center gap-2">
                  <span className="muted tabular-nums">
                    {formatCount(run.processed)}/{formatCount(run.planned)}
                  </span>
                  <StatusBadge status={run.status} />
                </span>
              </li>
            ))}
          </ul>
        )}
      </LiveActivity>
    </Section>
  );
}
