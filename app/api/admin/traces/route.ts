import { adminRoute } from "../../../../lib/http/admin";
import { json } from "../../../../lib/http/respond";
import { queryTraces } from "../../../../lib/traces/query";

export const dynamic = "force-dynamic";

/**
 * Trace envelopes (viewer), newest first: filters run, source (name or id), function, status,
 * kind, correlation, from/to (ISO 8601); `limit` (1-500) and `cursor` (from `nextCursor`).
 */
export const GET = adminRoute(
  { role: "viewer", action: "traces.list" },
  async ({ runtime, request }) => {
    const params = Object.fromEntries(new URL(request.url).searchParams);
    return json(await queryTraces(runtime.db, params));
  },
);
