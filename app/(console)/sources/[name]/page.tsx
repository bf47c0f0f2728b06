import Link from "next/link";
import { notFound } from "next/navigation";
import { listRunRows, sourceFootprint } from "../../../../lib/console/queries";
import { findSource } from "../../../../lib/pipeline/source-records";
import { redactLocation } from "../../../../lib/security/redact";
import { can, requirePage } from "../../../_lib/session";
import { PageHeader, Section, Stat, StatusBadge } from "../../../_ui/bits";
import { formatAgo, formatCount, formatTime, shortId } from "../../../_ui/format";
import { StatusForm, SyncForm } from "../forms";

export const dynamic = "force-dynamic";

type Params = Promise<{ name: string }>;
type Search = Promise<Record<string, string | string[] | undefined>>;

export async function generateMetadata({ params }: { params: Params }) {
  return { title: decodeURIComponent((await params).name) };
}

export default async function SourcePage({
  params,
  searchParams,
}: {
  params: Params;
  searchParams: Search;
}) {
  const viewer = await requirePage("viewer");
  const name = decodeURIComponent((await params).name);
  const added = (await searchParams).added === "1";
  const { db } = viewer.runtime;
  const source = name.length <= 200 ? await findSource(db, name) : undefined;
  if (!source) notFound();
  const operator = can(viewer, "operator");
  const [footprint, runs] = await Promise.all([
    sourceFootprint(db, source.id),
    operator ? listRunRows(db, { sourceId: source.id, limit: 10 }) : Promise.resolve([]),
  ]);
  return (
    <>
      <PageHeader
        title={source.name}
        description={
          <span className="font-mono">
            {source.kind === "github" ? "github:" : ""}
            {redactLocation(source.location)}
            {source.branch ? ` @ ${source.branch}` : " (default branch)"}
          </span>
        }
        actions={
          can(viewer, "admin") ? (
            <Link
              href={`/sources/${encodeURIComponent(source.name)}/remove`}
              className="btn-secondary"
            >
              Remove…
            </Link>
          ) : null
        }
      />
      {added ? (
        <p className="notice-ok mb-4" role="status">
          Added {source.name}. Nothing is indexed until it syncs: start one below.
        </p>
      ) : null}
      <div className="grid gap-6 lg:grid-cols-3">
        <Section title="Index" id="index">
          <dl className="grid grid-cols-2 gap-4">
            <Stat label="Documents" value={formatCount(footprint.documents)} />
            <Stat label="Chunks" value={formatCount(footprint.chunks)} />
            <Stat label="Runs" value={formatCount(footprint.runs)} />
            <Stat label="Status" value={<StatusBadge status={source.status} />} />
          </dl>
        </Section>
        <Section title="Cursor" id="cursor">
          <dl className="space-y-2 text-sm">
            <div>
              <dt className="muted">Synced commit</dt>
              <dd className="font-mono">{source.cursorCommit?.slice(0, 12) ?? "not synced yet"}</dd>
            </div>
            <div>
              <dt className="muted">At</dt>
              <dd>{formatTime(source.cursorAt)}</dd>
            </div>
            <div>
              <dt className="muted">Filters</dt>
              <dd className="font-mono text-xs break-words">
                include: {source.include.length ? source.include.join(", ") : "everything"}
              </dd>
              <dd className="font-mono text-xs break-words">
                exclude:{" "}
                {source.exclude.length ? source.exclude.join(", ") : "nothing beyond the defaults"}
              </dd>
            </div>
          </dl>
        </Section>
        <Section title="Actions" id="actions">
          {operator ? (
            <div className="space-y-4">
              <SyncForm source={source.name} />
              <p className="muted text-xs">
                “Sync changes” indexes what changed since the synced commit; “Full sync” lists every
                file again.
              </p>
              <StatusForm source={source.name} status={source.status} />
              <p className="muted text-xs">
                {source.status === "active"
                  ? "Pausing stops scheduled syncs and pushes from syncing it."
                  : "Paused: scheduled syncs and pushes skip it."}
              </p>
            </div>
          ) : (
            <p className="muted text-sm">Syncing, pausing and resuming need the operator role.</p>
          )}
        </Section>
      </div>
      {operator ? (
        <div className="mt-6">
          <Section
            title="Recent runs"
            id="runs"
            actions={<Link href={`/runs?source=${encodeURIComponent(source.name)}`}>All runs</Link>}
          >
            {runs.length === 0 ? (
              <p className="muted text-sm">No runs yet. Start a sync above.</p>
            ) : (
              <ul className="divide-y divide-slate-100 dark:divide-slate-800">
                {runs.map((run) => (
                  <li
                    key={run.id}
                    className="flex flex-wrap items-center justify-between gap-2 py-2 text-sm"
                  >
                    <span>
                      <Link href={`/runs/${run.id}`}>{shortId(run.id)}</Link>{" "}
                      <span className="muted">
                        {run.trigger} · {run.mode ?? run.requestedMode} · {formatAgo(run.queuedAt)}
                      </span>
                    </span>
                    <StatusBadge status={run.status} />
                  </li>
                ))}
              </ul>
            )}
          </Section>
        </div>
      ) : null}
    </>
  );
}
