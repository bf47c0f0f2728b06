import Link from "next/link";
import { z } from "zod";
import { listAudit } from "../../../lib/auth/audit";
import { requirePage } from "../../_lib/session";
import { EmptyState, PageHeader, StatusBadge, TableWrap } from "../../_ui/bits";
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
          <TableWrap label="Audit log">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">Action</th>
                  <th scope="col">Result</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {entries.map((e) => (
                  <tr key={e.id}>
                    <td className="text-xs whitespace-nowrap">{formatTime(e.at)}</td>
                    <td className="text-sm">{e.actor}</td>
                    <td className="text-sm">
                      <code>{e.action}</code>
                      {e.target ? (
                        <div className="muted max-w-48 truncate text-xs">{e.target}</div>
                      ) : null}
                    </td>
                    <td>
                      <StatusBadge status={e.result} />{" "}
                      <span className="muted text-xs">{e.status ?? ""}</span>
                    </td>
                    <td className="muted max-w-md text-xs break-words">{summary(e.details)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
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
