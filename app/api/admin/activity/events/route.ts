import { activityEventsResponse } from "../../../../../lib/http/activity-events";
import { adminRoute } from "../../../../../lib/http/admin";

export const dynamic = "force-dynamic";

/** Which runs moved, as Server-Sent Events (operator): the console's live overview and lists. */
export const GET = adminRoute(
  { role: "operator", action: "runs.activity" },
  async ({ runtime, request }) =>
    activityEventsResponse(runtime.database, runtime.log, request.signal),
);
