import { adminRoute } from "../../../../../lib/http/admin";
import { json } from "../../../../../lib/http/respond";
import { getScorecard } from "../../../../../lib/replay/scorecard";

export const dynamic = "force-dynamic";

/** One replay scorecard: the report, the full scorecard and its Markdown (viewer). */
export const GET = adminRoute<{ id: string }>(
  { role: "viewer", action: "replays.read", target: (p) => p.id },
  async ({ runtime, params }) => json(await getScorecard(runtime.db, params.id)),
);
