import { eq, inArray } from "drizzle-orm";
import type { Database } from "../../db/client";
import { sources, syncRuns } from "../../db/schema";
import type { OutboxEvent } from "../outbox/outbox";
import { requestSync } from "./request-sync";
import { finishRun, STALE_RUN_MS } from "./runs";

/** Seconds between the start of one scheduled sync and the next, so they do not all start at once. */
export const STAGGER_SECONDS = 30;
/** A queued run that never started within this time is presumed lost and replaced. */
export const STALE_QUEUED_MS = 60 * 60_000;

export interface ScheduledSync {
  sourceId: string;
  runId: string;
  event: OutboxEvent;
  /** When the sync should start: tick + index × STAGGER_SECONDS. */
  startAt: number;
}

export interface SchedulePlan {
  scheduled: ScheduledSync[];
  skipped: { sourceId: string; reason: string }[];
}

/**
 * The reconciliation pass (every 6 hours): an incremental sync for every active source,
 * skipping a source that is already syncing, staggered. Idempotent for one tick.
 */
export async function planScheduledSyncs(
  db: Database,
  tick: Date,
  options: { correlationId?: string } = {},
): Promise<SchedulePlan> {
  const active = await db
    .select({ id: sources.id })
    .from(sources)
    .where(eq(sources.status, "active"))
    .orderBy(sources.name);
  const open = await db
    .select()
    .from(syncRuns)
    .where(inArray(syncRuns.status, ["queued", "running"]));
  const plan: SchedulePlan = { scheduled: [], skipped: [] };
  for (const source of active) {
    const dedupeKey = `schedule:${tick.toISOString()}:${source.id}`;
    const busy = open.find((run) => {
      if (run.sourceId !== source.id || run.dedupeKey === dedupeKey) return false;
      if (run.status === "running")
        return tick.getTime() - (run.heartbeatAt ?? run.queuedAt).getTime() < STALE_RUN_MS;
      return tick.getTime() - run.queuedAt.getTime() < STALE_QUEUED_MS;
    });
    if (busy) {
      plan.skipped.push({
        sourceId: source.id,
        reason: `already syncing (run ${busy.id}, ${busy.status})`,
      });
      continue;
    }
    for (const lost of open.filter(
      (r) => r.sourceId === source.id && r.status === "queued" && r.dedupeKey !== dedupeKey,
    ))
      await finishRun(db, lost.id, "failed", {
        error: "never started within an hour of being queued; replaced by the scheduler",
      });
    const { run, event } = await requestSync(db, {
      sourceId: source.id,
      mode: "incremental",
      trigger: "schedule",
      requestedBy: "scheduler",
      dedupeKey,
      correlationId: options.correlationId ?? `schedule:${tick.toISOString()}`,
      outbox: false,
    });
    plan.scheduled.push({
      sourceId: source.id,
      runId: run.id,
      event,
      startAt: tick.getTime() + plan.scheduled.length * STAGGER_SECONDS * 1000,
    });
  }
  return plan;
}
