import Link from "next/link";
import { requirePage } from "../../../_lib/session";
import { PageHeader } from "../../../_ui/bits";
import { AddSourceForm } from "../forms";

export const dynamic = "force-dynamic";
export const metadata = { title: "Add a source" };

export default async function NewSourcePage() {
  const viewer = await requirePage("admin");
  return (
    <>
      <PageHeader
        title="Add a source"
        description={
          <>
            Checked exactly as the API and the CLI check it (local paths only under
            SOURCE_LOCAL_ROOTS, git URLs through the outbound URL policy, no credentials in URLs).
            Back to <Link href="/sources">Sources</Link>.
          </>
        }
      />
      <AddSourceForm localRoots={viewer.runtime.config.security.sourceLocalRoots} />
    </>
  );
}
