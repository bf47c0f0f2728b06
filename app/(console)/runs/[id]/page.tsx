import Link from "next/link";
import { notFound } from "next/navigation";
import { runFailures } from "../../../../lib/console/queries";
import { NotFoundError, ValidationError } from "../../../../lib/errors";
import { progressOf } from "../../../../lib/pipeline/progress";
import { describeRun, getRun, isFinished } from "../../../../lib/pipeline/runs";
import { getSource } from "../../../../lib/pipeline/source-records";
import { runTimeline } from "../../../../lib/traces/query";
import { requirePage } from "../../../_lib/session";
import { PageHeader, Section, Stat, StatusBadge } from "../../../_ui/bits";
import { DataTable, FIGURES } from "../../../_ui/data-table";
import { formatCount, formatDuration, formatTime, formatUsd, shortId } from "../../../_ui/format";
import { LiveRun } from "../../../_ui/live-run";
import { TraceTable } from "../../../_ui/trace-table";

export const dynamic = "force-dynamic";

type Params = Promise<{ id: string }>;

export async function generateMetadata({ params }: { params: Params }) {
  return { title: `Run ${shortId((await params).id)}` };
}

function between(a: string | null, b: string | null): number | null {
  return a && b ? Date.parse(b) - Date.parse(a) : null;
}

export default async function RunPage({ params }: { params: Params }) {
  const viewer = await requirePage("operator");
  const { db } = viewer.runtime;
  const { id } = await params;
  let run: Awaited<ReturnType<typeof getRun>>;
  try {
    run = await getRun(db, id);
  } catch (error) {
    if (error instanceof NotFoundError || error instanceof ValidationError) notFound();
    throw error;
  }
  const [view, failures, source, timeline] = await Promise.all([
    describeRun(db, run),
    runFailures(db, run.id),
    getSource(db, run.sourceId).catch(() => undefined),
    runTimeline(db, run.id, 500),
  ]);
  const t = view.timings;
  const finished = isFinished(run.status);
  const phases = [
    { name: "Queued", from: t.queuedAt, to: t.startedAt },
    { name: "Planning", from: t.startedAt, to: t.plannedAt },
    { name: "Indexing", from: t.plannedAt, to: t.finishedAt },
  ];
  const c = view.counts;
  return (
    <>
      <PageHeader
        title={`Run ${shortId(run.id)}`}
        description={
          <>
            {source ? (
              <Link href={`/sources/${encodeURIComponent(source.name)}`}>{source.name}</Link>
            ) : (
              "removed source"
            )}{" "}
            · {view.trigger} · {view.mode ?? view.requestedMode}
            {view.correlationId ? (
              <>
                {" "}
                · correlation <code>{view.correlationId}</code>
              </>
            ) : null}
          </>
        }
        actions={<StatusBadge status={view.status} />}
      />
      {view.error ? (
        <p className="notice-error mb-4" role="alert">
          {view.error}
        </p>
      ) : null}
      {view.note ? <p className="notice-info mb-4">{view.note}</p> : null}
      <div className="grid gap-6 lg:grid-cols-2">
        {finished ? null : <LiveRun runId={run.id} initial={progressOf(view)} />}
        <Section title="Counts" id="counts">
          <dl className="grid grid-cols-2 gap-4 sm:grid-cols-3">
            <Stat label="Planned" value={formatCount(c.planned)} />
            <Stat label="Indexed" value={formatCount(c.processed)} />
            <Stat label="Skipped" value={formatCount(c.skipped)} />
            <Stat label="Failed" value={formatCount(c.failed)} />
            <Stat label="Deleted" value={formatCount(c.deleted)} />
            <Stat label="Pending" value={formatCount(c.pending)} />
            <Stat
              label="Chunks embedded"
              value={formatCount(c.chunksEmbedded)}
              hint={`${formatCount(c.chunksReused)} reused`}
            />
            <Stat label="Tokens" value={formatCount(c.tokens)} />
            <Stat label="Cost" value={formatUsd(c.costUsd)} />
          </dl>
          {Object.keys(c.skippedByReason).length > 0 ? (
            <p className="muted mt-3 text-xs">
              Skipped by reason:{" "}
              {Object.entries(c.skippedByReason)
                .map(([reason, n]) => `${reason} ${n}`)
                .join(", ")}
            </p>
          ) : null}
        </Section>
        <Section title="Timings" id="timings">
          <ol className="space-y-2 text-sm">
            {phases.map((phase) => (
              <li key={phase.name} className="flex flex-wrap justify-between gap-2">
                <span>
                  <strong>{phase.name}</strong>{" "}
                  <span className="muted">from {formatTime(phase.from)}</span>
                </span>
                <span className="tabular-nums">
                  {phase.from && !phase.to && !finished
                    ? "in progress"
                    : formatDuration(between(phase.from, phase.to))}
                </span>
              </li>
            ))}
          </ol>
          <p className="muted mt-3 text-xs">
            Batches {view.batches.done}/{view.batches.total} · commits{" "}
            {view.fromCommit?.slice(0, 10) ?? "—"} → {view.toCommit?.slice(0, 10) ?? "—"} · total{" "}
            {formatDuration(t.durationMs)}
          </p>
        </Section>
      </div>
      <div className="mt-6">
        <Section
          title={`Failed documents (${formatCount(failures.length)}${failures.length === 200 ? "+" : ""})`}
          id="failures"
        >
          {failures.length === 0 ? (
            <p className="muted text-sm">{finished ? "No document failed." : "None so far."}</p>
          ) : (
            <DataTable
              label="Failed documents"
              rows={failures}
              rowKey={(f) => f.path}
              columns={[
                { header: "Path", className: "font-mono text-xs break-all", cell: (f) => f.path },
                {
                  header: "Error",
                  className: "text-xs break-words",
                  cell: (f) => f.error ?? "failed",
                },
                { header: "Attempts", ...FIGURES, cell: (f) => f.attempts },
              ]}
            />
          )}
          <p className="muted mt-3 text-xs">
            The next sync of the source retries failed documents.
          </p>
        </Section>
      </div>
      <div className="mt-6">
        <Section
          title={`Trace timeline (${formatCount(timeline.length)}${timeline.length === 500 ? "+" : ""} spans)`}
          id="timeline"
          actions={<Link href={`/traces?run=${run.id}`}>Search its traces</Link>}
        >
          {timeline.length === 0 ? (
            <p className="muted text-sm">
              {finished
                ? "No span was recorded for this run (traces may have expired)."
                : "Spans appear as its steps finish; reload to see them."}
            </p>
          ) : (
            <TraceTable spans={timeline} label="Trace timeline" timeline />
          )}
        </Section>
      </div>
    </>
  );
}
