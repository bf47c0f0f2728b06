import { alertsOverview } from "../../../../lib/alerts/overview";
import { adminRoute } from "../../../../lib/http/admin";
import { json } from "../../../../lib/http/respond";

export const dynamic = "force-dynamic";

/** Rules, channels (mode, approval, breaker), guardrails, firing alerts, recent notifications (viewer). */
export const GET = adminRoute({ role: "viewer", action: "alerts.read" }, async ({ runtime }) =>
  json(await alertsOverview(runtime.db, runtime.config.monitoring, runtime.breakers)),
);
