import { z } from "zod";
import { adminRoute } from "../../../../lib/http/admin";
import { json } from "../../../../lib/http/respond";
import { listScorecards } from "../../../../lib/replay/scorecard";

export const dynamic = "force-dynamic";

const query = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** Replay scorecards, newest first: pass rate, critical failures, gate (viewer). */
export const GET = adminRoute(
  { role: "viewer", action: "replays.list" },
  async ({ runtime, request }) => {
    const params = query.parse(Object.fromEntries(new URL(request.url).searchParams));
    return json({ replays: await listScorecards(runtime.db, { limit: params.limit }) });
  },
);
