import { and, eq, inArray, sql } from "drizzle-orm";
import { type Database, rowsOf } from "../../db/client";
import { type JobStatus, workflowJobs } from "../../db/schema";
import { triggerEvents } from "../workflows/define";
import type { Workflow, WorkflowEvent } from "../workflows/types";

export type JobRecord = typeof workflowJobs.$inferSelect;

export interface NewJob {
  eventId: string;
  eventName: string;
  workflow: string;
  data: Record<string, unknown>;
  eventAt: Date;
  runAfter: Date;
  correlationId: string | null;
}

/** The jobs some events make: one per workflow each event triggers, due at the event's `ts`. */
export function jobsFor(
  workflows: Workflow[],
  events: (WorkflowEvent & { id: string })[],
  now: number,
): NewJob[] {
  const jobs: NewJob[] = [];
  for (const event of events) {
    const data = (event.data ?? {}) as Record<string, unknown>;
    for (const wf of workflows) {
      if (!triggerEvents(wf).includes(event.name)) continue;
      jobs.push({
        eventId: event.id,
        eventName: event.name,
        workflow: wf.id,
        data,
        eventAt: new Date(now),
        runAfter: new Date(Math.max(now, event.ts ?? now)),
        correlationId: typeof data.correlationId === "string" ? data.correlationId : event.id,
      });
    }
  }
  return jobs;
}

/** Inserts jobs; one already there for the same event and workflow is left as it is. */
export async function insertJobs(db: Database, jobs: NewJob[]): Promise<number> {
  if (jobs.length === 0) return 0;
  const rows = await db
    .insert(workflowJobs)
    .values(jobs)
    .onConflictDoNothing({ target: [workflowJobs.eventId, workflowJobs.workflow] })
    .returning({ id: workflowJobs.id });
  return rows.length;
}

/**
 * Leases up to `limit` due jobs to this runner: pending ones whose time has come, and running
 * ones whose lease expired (their process died). Skips rows another runner is leasing.
 */
export async function leaseDueJobs(
  db: Database,
  options: { runner: string; limit: number; leaseMs: number; now: Date },
): Promise<JobRecord[]> {
  if (options.limit <= 0) return [];
  const now = options.now.toISOString();
  const until = new Date(options.now.getTime() + options.leaseMs).toISOString();
  const rows = rowsOf<{ id: string }>(
    await db.execute(sql`
      update ${workflowJobs} set status = 'running', leased_by = ${options.runner},
        lease_until = ${until}::timestamptz, attempts = attempts + 1,
        started_at = coalesce(started_at, ${now}::timestamptz)
      where id in (
        select id from ${workflowJobs}
        where (status = 'pending' and run_after <= ${now}::timestamptz)
           or (status = 'running' and lease_until < ${now}::timestamptz)
        order by run_after, created_at
        limit ${options.limit}
        for update skip locked)
      returning id`),
  );
  if (rows.length === 0) return [];
  return db
    .select()
    .from(workflowJobs)
    .where(
      inArray(
        workflowJobs.id,
        rows.map((r) => r.id),
      ),
    );
}

/** Extends the leases of jobs this runner holds; returns the ids it still holds. */
export async function renewLeases(
  db: Database,
  runner: string,
  ids: string[],
  until: Date,
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .update(workflowJobs)
    .set({ leaseUntil: until })
    .where(
      and(
        inArray(workflowJobs.id, ids),
        eq(workflowJobs.leasedBy, runner),
        eq(workflowJobs.status, "running"),
      ),
    )
    .returning({ id: workflowJobs.id });
  return new Set(rows.map((r) => r.id));
}

export async function finishJob(
  db: Database,
  id: string,
  runner: string,
  outcome:
    | { status: Extract<JobStatus, "succeeded" | "failed">; result?: unknown; error?: string }
    | { status: "pending"; runAfter: Date; error: string },
): Promise<void> {
  const now = new Date();
  await db
    .update(workflowJobs)
    .set(
      outcome.status === "pending"
        ? {
            status: "pending",
            runAfter: outcome.runAfter,
            lastError: outcome.error.slice(0, 2000),
            leasedBy: null,
            leaseUntil: null,
          }
        : {
            status: outcome.status,
            finishedAt: now,
            leasedBy: null,
            leaseUntil: null,
            lastError: outcome.error?.slice(0, 2000) ?? null,
            result: outcome.result === undefined ? null : outcome.result,
          },
    )
    .where(and(eq(workflowJobs.id, id), eq(workflowJobs.leasedBy, runner)));
}

/** Jobs by status (health, the CLI). */
export async function jobStats(db: Database): Promise<Record<string, number>> {
  const rows = await db
    .select({ status: workflowJobs.status, n: sql<number>`count(*)::int` })
    .from(workflowJobs)
    .groupBy(workflowJobs.status);
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** When the next pending job is due (the runner sleeps until then, or until woken). */
export async function nextDueAt(db: Database): Promise<Date | undefined> {
  const [row] = rowsOf<{ at: string | Date | null }>(
    await db.execute(
      sql`select min(run_after) as at from ${workflowJobs} where status = 'pending'`,
    ),
  );
  return row?.at ? new Date(row.at) : undefined;
}
