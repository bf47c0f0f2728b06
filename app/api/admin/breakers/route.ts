import { adminRoute } from "../../../../lib/http/admin";
import { json } from "../../../../lib/http/respond";
import { breakerStates } from "../../../../lib/recovery/operator";

export const dynamic = "force-dynamic";

/** Every dependency's circuit breaker: state, counters, when it opened and may be probed (viewer). */
export const GET = adminRoute({ role: "viewer", action: "breakers.list" }, async ({ runtime }) =>
  json({ breakers: await breakerStates(runtime.breakers) }),
);
