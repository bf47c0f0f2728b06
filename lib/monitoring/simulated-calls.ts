import { desc, eq, lt } from "drizzle-orm";
import type { Database } from "../../db/client";
import { simulatedCalls } from "../../db/schema";
import type { SimulatedCall, SimulationRecorder } from "../embedding/simulated";

export type SimulatedCallRow = typeof simulatedCalls.$inferSelect;

/** Rows older than this are deleted by the monitor's maintenance (as the series is). */
export const SIMULATED_CALL_RETENTION_MS = 30 * 24 * 3600_000;

/** A recorder that stores each log-only call in `simulated_calls`. */
export function simulatedCallRecorder(db: Database): SimulationRecorder {
  return async (call: SimulatedCall) => {
    await db.insert(simulatedCalls).values({
      integration: call.integration,
      operation: call.operation,
      items: call.items,
      requests: call.requests,
      tokens: call.tokens,
      details: call.details,
    });
  };
}

/** The latest recorded calls, newest first (of one integration when given). */
export async function listSimulatedCalls(
  db: Database,
  options: { integration?: string; limit?: number } = {},
): Promise<SimulatedCallRow[]> {
  const query = db.select().from(simulatedCalls);
  const filtered = options.integration
    ? query.where(eq(simulatedCalls.integration, options.integration))
    : query;
  return filtered.orderBy(desc(simulatedCalls.id)).limit(options.limit ?? 100);
}

/** Deletes recorded calls older than the retention. Returns how many. */
export async function pruneSimulatedCalls(db: Database, now: Date): Promise<number> {
  const gone = await db
    .delete(simulatedCalls)
    .where(lt(simulatedCalls.at, new Date(now.getTime() - SIMULATED_CALL_RETENTION_MS)))
    .returning({ id: simulatedCalls.id });
  return gone.length;
}
