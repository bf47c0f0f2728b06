import Link from "next/link";
import { z } from "zod";
import { DEAD_LETTER_KINDS, DEAD_LETTER_STATUSES } from "../../../db/schema";
import { listSources } from "../../../lib/pipeline/source-records";
import { DLQ_PAGE_SIZE, dlqDepth, pageDeadLetters } from "../../../lib/recovery/dlq";
import { can, requirePage } from "../../_lib/session";
import { EmptyState, PageHeader, Section, Stat, StatusBadge } from "../../_ui/bits";
import { DataTable } from "../../_ui/data-table";
import { formatAgo, formatTime, shortId } from "../../_ui/format";
import { DiscardEntryForm, RetryAllForm, RetryEntryForm } from "./forms";

export const dynamic = "force-dynamic";
export const metadata = { title: "Dead-letter queue" };

type Entry = Awaited<ReturnType<typeof pageDeadLetters>>["entries"][number];

/** The entry's path (a document) or event name (an event). */
function whatOf(e: Entry): string {
  return e.kind === "document" ? (e.path ?? "(document)") : (e.eventName ?? "(event)");
}

type Search = Promise<Record<string, string | string[] | undefined>>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const cursor = z.string().regex(UUID).optional().catch(undefined);

/** A malformed filter or cursor falls back to its default (the first page of open entries). */
const filters = z.object({
  status: z.enum([...DEAD_LETTER_STATUSES, "open"]).catch("open"),
  kind: z.enum(DEAD_LETTER_KINDS).optional().catch(undefined),
  before: cursor,
  after: cursor,
});

/** The queue page's address with these filters and cursor. */
function pageHref(
  filter: { status: string; kind?: string },
  cursor?: { before?: string; after?: string },
) {
  const query = new URLSearchParams();
  if (filter.status !== "open") query.set("status", filter.status);
  if (filter.kind) query.set("kind", filter.kind);
  if (cursor?.before) query.set("before", cursor.before);
  if (cursor?.after) query.set("after", cursor.after);
  const text = query.toString();
  return text ? `/dlq?${text}` : "/dlq";
}

export default async function DlqPage({ searchParams }: { searchParams: Search }) {
  const viewer = await requirePage("operator");
  const params = await searchParams;
  const { status, kind, before, after } = filters.parse({
    status: params.status,
    kind: params.kind,
    before: params.before,
    after: params.after,
  });
  const db = viewer.runtime.db;
  const [depth, page, sources] = await Promise.all([
    dlqDepth(db),
    pageDeadLetters(db, { status, kind, before, after, pageSize: DLQ_PAGE_SIZE }),
    listSources(db),
  ]);
  const entries = page.entries;
  const sourceName = new Map(sources.map((s) => [s.id, s.name]));
  const open = depth.pending + depth.parked;
  const operator = can(viewer, "operator");
  return (
    <>
      <PageHeader
        title="Dead-letter queue"
        description="Documents and events that exhausted their retries. The error-recovery workflow re-drives pending entries after their backoff once the dependency's breaker closes; retry one now, retry all, or discard with a reason."
        actions={operator && open > 0 ? <RetryAllForm count={open} /> : null}
      />
      {typeof params.retried === "string" ? (
        <p className="notice-ok mb-4" role="status">
          {params.retried === "1" ? "Entry" : `${params.retried} entries`} released for a retry now;
          the re-drive events went out through the outbox.
        </p>
      ) : null}
      {params.discarded === "1" ? (
        <p className="notice-ok mb-4" role="status">
          Entry discarded; the reason is in its history and the audit log.
        </p>
      ) : null}
      <div className="space-y-6">
        <section className="card" aria-label="Queue depth">
          <dl className="grid grid-cols-3 gap-4">
            <Stat label="Pending" value={depth.pending} hint="waiting for their backoff" />
            <Stat label="Parked" value={depth.parked} hint="out of automatic retries" />
            <Stat label="Being retried" value={depth.redriven} hint="released, not yet back" />
          </dl>
        </section>
        <nav aria-label="Filter by status" className="flex flex-wrap gap-2 text-sm">
          {(["open", ...DEAD_LETTER_STATUSES] as const).map((s) => (
            <Link
              key={s}
              href={s === "open" ? "/dlq" : `/dlq?status=${s}`}
              aria-current={s === status ? "page" : undefined}
              className={`rounded-md px-3 py-1 no-underline ${
                s === status
                  ? "bg-accent-100 font-semibold text-accent-900 dark:bg-accent-900 dark:text-accent-100"
                  : "text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800"
              }`}
            >
              {s}
            </Link>
          ))}
        </nav>
        {entries.length === 0 ? (
          <EmptyState title={status === "open" ? "The queue is empty" : `No ${status} entries`}>
            {status === "open"
              ? "Nothing is waiting: every document and event either succeeded or was retried. A failure that exhausts its retries lands here; check Runs for failed documents."
              : "Choose another status above to see other entries."}
          </EmptyState>
        ) : (
          <Section
            title={`Entries (${page.totalCapped ? "more than " : ""}${page.total.toLocaleString("en-US")})`}
            id="entries"
          >
            <DataTable
              label="Dead-letter entries"
              testId="dlq-entries"
              rowTestId="dlq-entry"
              rows={entries}
              rowKey={(e) => e.id}
              columns={[
                {
                  header: "What",
                  cell: (e) => (
                    <>
                      <span className="badge bg-slate-200 text-slate-900 dark:bg-slate-700 dark:text-slate-100">
                        {e.kind}
                      </span>{" "}
                      <span className="font-mono text-xs break-all">{whatOf(e)}</span>
                      <div className="muted text-xs">
                        {e.sourceId
                          ? `source ${sourceName.get(e.sourceId) ?? shortId(e.sourceId)}`
                          : ""}
                        {e.functionId ? ` · ${e.functionId}` : ""}
                        {e.dependency ? ` · ${e.dependency}` : ""}
                        {e.runId ? (
                          <>
                            {" · "}
                            <Link href={`/runs/${e.runId}`}>run {shortId(e.runId)}</Link>
                          </>
                        ) : null}
                      </div>
                    </>
                  ),
                },
                {
                  header: "Error",
                  className: "max-w-xs text-xs",
                  cell: (e) => (
                    <>
                      <span className="font-semibold">{e.errorClass}</span>
                      <div className="break-words">{e.message.slice(0, 300)}</div>
                      {e.resolution ? <div className="muted">{e.resolution}</div> : null}
                    </>
                  ),
                },
                {
                  header: "Attempts",
                  className: "tabular-nums",
                  cell: (e) => (
                    <>
                      {e.attempts}
                      <div className="muted text-xs">{e.recoveries} re-drives</div>
                    </>
                  ),
                },
                {
                  header: "Status",
                  cell: (e) => (
                    <>
                      <StatusBadge status={e.status} />
                      {e.status === "pending" ? (
                        <div className="muted text-xs">next try {formatTime(e.nextAttemptAt)}</div>
                      ) : null}
                    </>
                  ),
                },
                {
                  header: "Seen",
                  className: "text-xs",
                  cell: (e) => (
                    <>
                      first {formatTime(e.firstSeenAt)}
                      <div className="muted">last {formatAgo(e.lastSeenAt)}</div>
                    </>
                  ),
                },
                {
                  header: "Actions",
                  srOnly: true,
                  cell: (e) => {
                    const label = `${e.kind} ${whatOf(e)}`;
                    const actionable = e.status === "pending" || e.status === "parked";
                    const discardable = actionable || e.status === "redriven";
                    return (
                      <>
                        {operator && actionable ? <RetryEntryForm id={e.id} label={label} /> : null}
                        {operator && discardable ? (
                          <DiscardEntryForm id={e.id} label={label} />
                        ) : null}
                      </>
                    );
                  },
                },
              ]}
            />
            {page.newer || page.older ? (
              <nav
                aria-label="Pages of entries"
                className="mt-4 flex flex-wrap items-center justify-between gap-2 text-sm"
                data-testid="dlq-pages"
              >
                <span className="muted">
                  {entries.length} on this page, {DLQ_PAGE_SIZE} a page, newest first
                </span>
                <span className="flex gap-3">
                  {page.newer ? (
                    <>
                      <Link href={pageHref({ status, kind })}>Newest</Link>
                      <Link href={pageHref({ status, kind }, { after: page.newer })} rel="prev">
                        ← Newer
                      </Link>
                    </>
                  ) : null}
                  {page.older ? (
                    <Link href={pageHref({ status, kind }, { before: page.older })} rel="next">
                      Older →
                    </Link>
                  ) : null}
                </span>
              </nav>
            ) : null}
          </Section>
        )}
      </div>
    </>
  );
}
