import { adminRoute } from "../../../../../lib/http/admin";
import { json } from "../../../../../lib/http/respond";
import { cleanupView, getCleanupRun } from "../../../../../lib/retention/cleanup";

export const dynamic = "force-dynamic";

/** One cleanup run (viewer): its plan — what it would delete — its decision and its counts. */
export const GET = adminRoute<{ runId: string }>(
  { role: "viewer", action: "cleanup.read", target: (p) => p.runId },
  async ({ runtime, params }) =>
    json({ run: cleanupView(await getCleanupRun(runtime.db, params.runId)) }),
);
