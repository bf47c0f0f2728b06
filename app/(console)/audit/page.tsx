import Link from "next/link";
import { z } from "zod";
import { listAudit } from "../../../lib/auth/audit";
import { requirePage } from "../../_lib/session";
import { EmptyState, PageHeader, StatusBadge } from "../../_ui/bits";
import { DataTable } from "../../_ui/data-table";
import { formatTime } from "../../_ui/format";

export const dynamic = "force-dynamic";
export const metadata = { title: "Audit log" };

const PAGE = 100;
const query = z.object({ before: z.coerce.number().int().min(1).optional().catch(undefined) });

type Search = Promise<Record<string, string | string[] | undefined>>;

function summary(details: Record<string, unknown> | null): string {
  if (!details) return "";
  return Object.entries(details)
    .filter(([key]) => key !== "method")
    .map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" · ")
    .slice(0, 300);
}

export default async function AuditPage({ searchParams }: { searchParams: Search }) {
  const viewer = await requirePage("admin");
  const { before } = query.parse(await searchParams);
  const entries = await listAudit(viewer.runtime.db, { limit: PAGE, before });
  const last = entries.at(-1);
  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every admin action and sign-in, allowed or refused, newest first."
      />
      {entries.length === 0 ? (
        <EmptyState title="Nothing audited yet">
          Actions in the console, the admin API and sign-ins are listed here.
        </EmptyState>
      ) : (
        <div className="card p-0">
          <DataTable
            label="Audit log"
            rows={entries}
            rowKey={(e) => String(e.id)}
            columns={[
              {
                header: "When",
                className: "text-xs whitespace-nowrap",
                cell: (e) => formatTime(e.at),
              },
              { header: "Who", className: "text-sm", cell: (e) => e.actor },
              {
                header: "Action",
                className: "text-sm",
                cell: (e) => (
                  <>
                    <code>{e.action}</code>
                    {e.target ? (
                      <div className="muted max-w-48 truncate text-xs">{e.target}</div>
                    ) : null}
                  </>
                ),
              },
              {
                header: "Result",
                cell: (e) => (
                  <>
                    <StatusBadge status={e.result} />{" "}
                    <span className="muted text-xs">{e.status ?? ""}</span>
                  </>
                ),
              },
              {
                header: "Details",
                className: "muted max-w-md text-xs break-words",
                cell: (e) => summary(e.details),
              },
            ]}
          />
        </div>
      )}
      {entries.length === PAGE && last ? (
        <p className="mt-4">
          <Link href={`/audit?before=${last.id}`}>Older entries →</Link>
        </p>
      ) : null}
    </>
  );
}
