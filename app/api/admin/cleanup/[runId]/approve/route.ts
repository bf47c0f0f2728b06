import { sendEvents } from "../../../../../../inngest/send";
import { cleanupDecisionRoute } from "../../../../../../lib/retention/cleanup-http";

export const dynamic = "force-dynamic";

/** Approves a cleanup awaiting approval (admin): `{ "reason": "…" }`. */
export const POST = cleanupDecisionRoute("approve", () => sendEvents);
