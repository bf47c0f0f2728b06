import Link from "next/link";
import { z } from "zod";
import { RUN_STATUSES, type RunStatus } from "../../../db/schema";
import { listRunRows, RUN_PAGE_SIZE } from "../../../lib/console/queries";
import { findSource, listSources } from "../../../lib/pipeline/source-records";
import { requirePage } from "../../_lib/session";
import { EmptyState, PageHeader, StatusBadge } from "../../_ui/bits";
import { DataTable, FIGURES } from "../../_ui/data-table";
import {
  formatAgo,
  formatCount,
  formatDuration,
  formatTime,
  formatUsd,
  shortId,
} from "../../_ui/format";
import { LiveActivity } from "../../_ui/live-activity";

export const dynamic = "force-dynamic";
export const metadata = { title: "Runs" };

type Search = Promise<Record<string, string | string[] | undefined>>;

const filters = z.object({
  source: z.string().max(200).optional().catch(undefined),
  status: z
    .union([z.enum(RUN_STATUSES), z.array(z.enum(RUN_STATUSES))])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
    .catch([]),
  before: z.iso.datetime().optional().catch(undefined),
});

export default async function RunsPage({ searchParams }: { searchParams: Search }) {
  const viewer = await requirePage("operator");
  const { db } = viewer.runtime;
  const params = filters.parse(await searchParams);
  const source = params.source ? await findSource(db, params.source) : undefined;
  const unknownSource = params.source !== undefined && params.source !== "" && !source;
  const [rows, sources] = await Promise.all([
    unknownSource
      ? Promise.resolve([])
      : listRunRows(db, {
          sourceId: source?.id,
          statuses: params.status as RunStatus[],
          before: params.before ? new Date(params.before) : undefined,
          limit: RUN_PAGE_SIZE,
        }),
    listSources(db),
  ]);
  const last = rows.at(-1);
  const olderQuery = new URLSearchParams();
  if (source) olderQuery.set("source", source.name);
  for (const s of params.status) olderQuery.append("status", s);
  if (last) olderQuery.set("before", last.queuedAt.toISOString());
  const filtered = params.source || params.status.length > 0 || params.before;
  return (
    <>
      <PageHeader
        title="Runs"
        description="Every sync: what started it, how far it got, what it cost."
      />
      <form
        method="get"
        className="card mb-4 flex flex-wrap items-end gap-4"
        aria-label="Filter runs"
      >
        <div>
          <label htmlFor="filter-source" className="field-label">
            Source
          </label>
          <select
            id="filter-source"
            name="source"
            defaultValue={source?.name ?? ""}
            className="input"
          >
            <option value="">All sources</option>
            {sources.map((s) => (
              <option key={s.id} value={s.name}>
                {s.name}
              </option>
            ))}
          </select>
        </div>
        <fieldset>
          <legend className="field-label">Status</legend>
          <div className="flex flex-wrap gap-3 text-sm">
            {RUN_STATUSES.map((status) => (
              <label key={status} className="inline-flex items-center gap-1.5">
                <input
                  type="checkbox"
                  name="status"
                  value={status}
                  defaultChecked={params.status.includes(status)}
                />
                {status.replaceAll("_", " ")}
              </label>
            ))}
          </div>
        </fieldset>
        <button type="submit" className="btn-secondary">
          Apply
        </button>
        {filtered ? <Link href="/runs">Clear filters</Link> : null}
      </form>
      {unknownSource ? (
        <p className="notice-error mb-4" role="alert">
          There is no source named “{params.source}”.
        </p>
      ) : null}
      <LiveActivity>
        {rows.length === 0 ? (
          <EmptyState title={filtered ? "No runs match these filters" : "No runs yet"}>
            {filtered ? (
              <Link href="/runs">Show every run</Link>
            ) : (
              <>
                Start a sync from a source's page in <Link href="/sources">Sources</Link>.
              </>
            )}
          </EmptyState>
        ) : (
          <div className="card p-0">
            <DataTable
              label="Runs"
              rows={rows}
              rowKey={(run) => run.id}
              columns={[
                {
                  header: "Run",
                  cell: (run) => (
                    <>
                      <Link href={`/runs/${run.id}`} className="font-mono">
                        {shortId(run.id)}
                      </Link>
                      <div className="muted text-xs">{run.source}</div>
                    </>
                  ),
                },
                { header: "Status", cell: (run) => <StatusBadge status={run.status} /> },
                {
                  header: "Trigger · mode",
                  className: "text-xs",
                  cell: (run) => `${run.trigger} · ${run.mode ?? run.requestedMode}`,
                },
                {
                  header: "Documents",
                  ...FIGURES,
                  cell: (run) =>
                    `${formatCount(run.processed + run.deleted)}/${formatCount(run.planned)}`,
                },
                { header: "Failed", ...FIGURES, cell: (run) => formatCount(run.failed) },
                { header: "Cost", ...FIGURES, cell: (run) => formatUsd(run.costUsd) },
                {
                  header: "Queued",
                  className: "text-xs",
                  cell: (run) => (
                    <span title={formatTime(run.queuedAt)}>{formatAgo(run.queuedAt)}</span>
                  ),
                },
                {
                  header: "Took",
                  className: "text-xs tabular-nums",
                  cell: (run) =>
                    run.startedAt
                      ? formatDuration(
                          (run.finishedAt ?? new Date()).getTime() - run.startedAt.getTime(),
                        )
                      : "—",
                },
              ]}
            />
          </div>
        )}
      </LiveActivity>
      {rows.length === RUN_PAGE_SIZE ? (
        <p className="mt-4">
          <Link href={`/runs?${olderQuery.toString()}`}>Older runs →</Link>
        </p>
      ) : null}
    </>
  );
}
