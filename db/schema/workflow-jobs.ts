import { sql } from "drizzle-orm";
import {
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

export const JOB_STATUSES = ["pending", "running", "succeeded", "failed"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/**
 * The embedded runner's queue (the app on the embedded defaults, with no Inngest server):
 * one row per workflow an event triggers. The same event delivered twice is the same job
 * (unique event id + workflow). A job is leased while it runs; a lease that expires (the
 * process died) makes it runnable again, and every workflow step is safe to repeat.
 */
export const workflowJobs = pgTable(
  "workflow_jobs",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    eventId: text("event_id").notNull(),
    eventName: text("event_name").notNull(),
    workflow: text("workflow").notNull(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull(),
    /** When the event was sent (or the cron tick it stands for). */
    eventAt: timestamp("event_at", { withTimezone: true }).notNull().defaultNow(),
    correlationId: text("correlation_id"),
    status: text("status").$type<JobStatus>().notNull().default("pending"),
    /** Executions started (a retry after a transient error, a restart after a crash). */
    attempts: integer("attempts").notNull().default(0),
    runAfter: timestamp("run_after", { withTimezone: true }).notNull().defaultNow(),
    leasedBy: text("leased_by"),
    leaseUntil: timestamp("lease_until", { withTimezone: true }),
    lastError: text("last_error"),
    result: jsonb("result"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp("started_at", { withTimezone: true }),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("workflow_jobs_event_workflow_key").on(t.eventId, t.workflow),
    index("workflow_jobs_due_idx").on(t.status, t.runAfter),
    check(
      "workflow_jobs_status_check",
      sql`${t.status} in ('pending', 'running', 'succeeded', 'failed')`,
    ),
  ],
);
