import Link from "next/link";
import { notFound } from "next/navigation";
import { sourceFootprint } from "../../../../../lib/console/queries";
import { findSource } from "../../../../../lib/pipeline/source-records";
import { redactLocation } from "../../../../../lib/security/redact";
import { requirePage } from "../../../../_lib/session";
import { PageHeader } from "../../../../_ui/bits";
import { formatCount } from "../../../../_ui/format";
import { RemoveForm } from "../../forms";

export const dynamic = "force-dynamic";
export const metadata = { title: "Remove a source" };

export default async function RemoveSourcePage({ params }: { params: Promise<{ name: string }> }) {
  const viewer = await requirePage("admin");
  const name = decodeURIComponent((await params).name);
  const source = name.length <= 200 ? await findSource(viewer.runtime.db, name) : undefined;
  if (!source) notFound();
  const footprint = await sourceFootprint(viewer.runtime.db, source.id);
  return (
    <>
      <PageHeader title={`Remove ${source.name}?`} />
      <div className="card max-w-2xl space-y-4">
        <p>This deletes, for good:</p>
        <ul className="list-disc space-y-1 pl-6" data-testid="removal-footprint">
          <li>
            the source <strong>{source.name}</strong> (
            <code>{redactLocation(source.location)}</code>)
          </li>
          <li>
            <strong>{formatCount(footprint.documents)}</strong> documents and{" "}
            <strong>{formatCount(footprint.chunks)}</strong> chunks from the search index
          </li>
          <li>
            <strong>{formatCount(footprint.runs)}</strong> runs with their history
          </li>
        </ul>
        <p className="muted text-sm">
          The repository itself is not touched. Adding it again re-indexes it from scratch.
        </p>
        <RemoveForm source={source.name} />
        <p>
          <Link href={`/sources/${encodeURIComponent(source.name)}`}>Cancel</Link>
        </p>
      </div>
    </>
  );
}
