import { sendEvents } from "../../../../../../inngest/send";
import { cleanupDecisionRoute } from "../../../../../../lib/retention/cleanup-http";

export const dynamic = "force-dynamic";

/** Rejects a cleanup awaiting approval (admin): `{ "reason": "…" }`; nothing is deleted. */
export const POST = cleanupDecisionRoute("reject", () => sendEvents);
