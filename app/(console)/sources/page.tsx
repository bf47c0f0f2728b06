import Link from "next/link";
import { listSourceRows } from "../../../lib/console/queries";
import { redactLocation } from "../../../lib/security/redact";
import { can, requirePage } from "../../_lib/session";
import { EmptyState, PageHeader, StatusBadge } from "../../_ui/bits";
import { DataTable, FIGURES } from "../../_ui/data-table";
import { formatAgo, formatCount } from "../../_ui/format";

export const dynamic = "force-dynamic";
export const metadata = { title: "Sources" };

type Search = Promise<Record<string, string | string[] | undefined>>;

export default async function SourcesPage({ searchParams }: { searchParams: Search }) {
  const viewer = await requirePage("viewer");
  const params = await searchParams;
  const removed = typeof params.removed === "string" ? params.removed : undefined;
  const rows = await listSourceRows(viewer.runtime.db);
  const admin = can(viewer, "admin");
  return (
    <>
      <PageHeader
        title="Sources"
        description="The repositories Ballast keeps indexed."
        actions={
          admin ? (
            <Link href="/sources/new" className="btn-primary">
              Add source
            </Link>
          ) : null
        }
      />
      {removed ? (
        <p className="notice-ok mb-4" role="status">
          Removed {removed} with its documents, chunks and runs.
        </p>
      ) : null}
      {rows.length === 0 ? (
        <EmptyState title="No sources yet">
          {admin ? (
            <>
              <Link href="/sources/new">Add a source</Link> — a GitHub repository, a git URL or a
              local repository — then sync it.
            </>
          ) : (
            <>
              An admin adds sources here; or on the server:{" "}
              <code>npx ballast sync ./path/to/repo</code>.
            </>
          )}
        </EmptyState>
      ) : (
        <div className="card p-0">
          <DataTable
            label="Sources"
            rows={rows}
            rowKey={(s) => s.id}
            columns={[
              {
                header: "Source",
                cell: (s) => (
                  <>
                    <Link href={`/sources/${encodeURIComponent(s.name)}`} className="font-medium">
                      {s.name}
                    </Link>
                    <div
                      className="muted max-w-md truncate font-mono text-xs"
                      title={redactLocation(s.location)}
                    >
                      {s.kind === "github" ? "github:" : ""}
                      {redactLocation(s.location)}
                      {s.branch ? ` @ ${s.branch}` : ""}
                    </div>
                  </>
                ),
              },
              { header: "Status", cell: (s) => <StatusBadge status={s.status} /> },
              { header: "Documents", ...FIGURES, cell: (s) => formatCount(s.documentCount) },
              { header: "Chunks", ...FIGURES, cell: (s) => formatCount(s.chunkCount) },
              {
                header: "Last sync",
                cell: (s) =>
                  s.lastRun ? (
                    <span className="flex flex-wrap items-center gap-2">
                      <StatusBadge status={s.lastRun.status} />
                      <span className="muted text-xs">
                        {formatAgo(s.lastRun.finishedAt ?? s.lastRun.queuedAt)}
                      </span>
                    </span>
                  ) : (
                    <span className="muted">never</span>
                  ),
              },
            ]}
          />
        </div>
      )}
    </>
  );
}
