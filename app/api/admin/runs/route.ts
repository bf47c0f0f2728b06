import { z } from "zod";
import { RUN_STATUSES } from "../../../../db/schema";
import { adminRoute } from "../../../../lib/http/admin";
import { json } from "../../../../lib/http/respond";
import { describeRun, listRuns } from "../../../../lib/pipeline/runs";
import { getSource } from "../../../../lib/pipeline/source-records";

export const dynamic = "force-dynamic";

const query = z.object({
  source: z.string().min(1).optional(),
  status: z.enum(RUN_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.iso.datetime().optional(),
});

/** Recent sync runs with live counts (operator). */
export const GET = adminRoute(
  { role: "operator", action: "runs.list" },
  async ({ runtime, request }) => {
    const params = query.parse(Object.fromEntries(new URL(request.url).searchParams));
    const source = params.source ? await getSource(runtime.db, params.source) : undefined;
    const rows = await listRuns(runtime.db, {
      sourceId: source?.id,
      status: params.status,
      limit: params.limit,
      before: params.before ? new Date(params.before) : undefined,
    });
    const runs = await Promise.all(
      rows.map(async (r) => ({ source: r.sourceName, ...(await describeRun(runtime.db, r.run)) })),
    );
    return json({ runs });
  },
);
