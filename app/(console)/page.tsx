import { can, requirePage } from "../_lib/session";
import { PageHeader } from "../_ui/bits";
import { OVERVIEW_PANELS } from "./_panels";

export const dynamic = "force-dynamic";
export const metadata = { title: "Overview" };

export default async function OverviewPage() {
  const viewer = await requirePage("viewer");
  const panels = OVERVIEW_PANELS.filter((p) => can(viewer, p.role));
  const rendered = await Promise.all(
    panels.map(async (p) => ({ panel: p, node: await p.render(viewer) })),
  );
  return (
    <>
      <PageHeader
        title="Overview"
        description="Health of every dependency, syncs in progress, and how indexing has gone lately."
      />
      <div className="grid gap-6 lg:grid-cols-2">
        {rendered
          .filter((r) => r.node !== null)
          .map(({ panel, node }) => (
            <div key={panel.id} className={panel.width === "wide" ? "lg:col-span-2" : undefined}>
              {node}
            </div>
          ))}
      </div>
    </>
  );
}
