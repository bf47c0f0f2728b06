import Link from "next/link";
import { listRunRows } from "../../../lib/console/queries";
import type { Viewer } from "../../_lib/session";
import { Section, StatusBadge } from "../../_ui/bits";
import { formatAgo, formatCount, shortId } from "../../_ui/format";

/** The last runs that failed or ended with failed documents; nothing when there are none. */
export async function RecentFailuresPanel({ viewer }: { viewer: Viewer }) {
  const rows = await listRunRows(viewer.runtime.db, {
    statuses: ["failed", "completed_with_errors"],
    limit: 5,
  });
  if (rows.length === 0) return null;
  return (
    <Section
      title="Recent failures"
      id="recent-failures"
      actions={<Link href="/runs?status=failed&status=completed_with_errors">All failed runs</Link>}
    >
      <ul className="divide-y divide-slate-100 dark:divide-slate-800">
        {rows.map((run) => (
          <li
            key={run.id}
            className="flex flex-wrap items-start justify-between gap-2 py-2 text-sm"
          >
            <div className="min-w-0">
              <Link href={`/runs/${run.id}`}>
                {run.source} · {shortId(run.id)}
              </Link>{" "}
              <span className="muted">ended {formatAgo(run.finishedAt)}</span>
              <p className="muted mt-0.5 text-xs break-words">
                {run.error ??
                  `${formatCount(run.failed)} document${run.failed === 1 ? "" : "s"} failed`}
              </p>
            </div>
            <StatusBadge status={run.status} />
          </li>
        ))}
      </ul>
    </Section>
  );
}
