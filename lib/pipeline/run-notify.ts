import { sql } from "drizzle-orm";
import type { Database } from "../../db/client";

/**
 * Every write that moves a run (claim, plan, each batch, the end) sends NOTIFY on one channel
 * with the run id, in the same transaction, so a listener hears of it exactly when it becomes
 * visible (lib/pipeline/progress.ts follows runs this way).
 */
export const RUN_PROGRESS_CHANNEL = "ballast_run_progress";

export async function notifyRunProgress(db: Database, runId: string): Promise<void> {
  await db.execute(sql`select pg_notify(${RUN_PROGRESS_CHANNEL}, ${runId})`);
}
