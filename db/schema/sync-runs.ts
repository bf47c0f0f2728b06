import { sql } from "drizzle-orm";
import {
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { indexingWork, timestamps } from "./columns";
import { sources } from "./sources";

import { RUN_STATUSES, type RunStatus } from "./values";

export { RUN_STATUSES, type RunStatus };
export type RunTrigger = "cli" | "webhook" | "schedule" | "admin" | "retry";
export type RunMode = "full" | "incremental";

/** One sync of one source: state, counts and timings. Counts are final once the run ends. */
export const syncRuns = pgTable(
  "sync_runs",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    sourceId: uuid("source_id")
      .notNull()
      .references(() => sources.id, { onDelete: "cascade" }),
    /** What asked for the run; the same key twice (a replayed event, a duplicate delivery) is the same run. */
    dedupeKey: text("dedupe_key").notNull(),
    /** The first cause (webhook delivery, admin request, cron tick) this run descends from. */
    correlationId: text("correlation_id"),
    trigger: text("trigger").$type<RunTrigger>().notNull(),
    requestedMode: text("requested_mode").$type<RunMode>().notNull(),
    mode: text("mode").$type<RunMode>(),
    status: text("status").$type<RunStatus>().notNull().default("queued"),
    /** Why the run took the path it took (e.g. "cursor gone after a force-push: full sync"). */
    note: text("note"),
    error: text("error"),
    fromCommit: text("from_commit"),
    toCommit: text("to_commit"),
    branch: text("branch"),
    configHash: text("config_hash"),
    filterHash: text("filter_hash"),
    embeddingSpace: text("embedding_space"),
    /** True when the run dropped the vector index to load in bulk; finalize rebuilds it. */
    bulkLoad: boolean("bulk_load").notNull().default(false),
    batchesTotal: integer("batches_total").notNull().default(0),
    planned: integer("planned").notNull().default(0),
    processed: integer("processed").notNull().default(0),
    skipped: integer("skipped").notNull().default(0),
    skippedByReason: jsonb("skipped_by_reason")
      .$type<Record<string, number>>()
      .notNull()
      .default({}),
    failed: integer("failed").notNull().default(0),
    deleted: integer("deleted").notNull().default(0),
    ...indexingWork(),
    queuedAt: timestamp("queued_at", { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp("started_at", { withTimezone: true }),
    plannedAt: timestamp("planned_at", { withTimezone: true }),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
    heartbeatAt: timestamp("heartbeat_at", { withTimezone: true }),
    /**
     * The local process running it (`<host>:<pid>`), when one process drives the whole run
     * (the CLI): once that process is gone, the source is freed at once instead of after
     * STALE_RUN_MS.
     */
    owner: text("owner"),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("sync_runs_dedupe_key").on(t.dedupeKey),
    /** At most one running sync per source, across every process. */
    uniqueIndex("sync_runs_one_running_per_source")
      .on(t.sourceId)
      .where(sql`${t.status} = 'running'`),
    index("sync_runs_source_idx").on(t.sourceId, t.queuedAt),
    index("sync_runs_status_idx").on(t.status),
    index("sync_runs_correlation_idx").on(t.correlationId),
    /** The monitor's windows (runs finished in the last 5 minutes … 3 days; started in 24 h). */
    index("sync_runs_finished_idx").on(t.finishedAt),
    index("sync_runs_queued_idx").on(t.queuedAt),
    check(
      "sync_runs_status_check",
      sql`${t.status} in ('queued', 'running', 'succeeded', 'completed_with_errors', 'failed', 'cancelled')`,
    ),
  ],
);

export type ItemStatus = "pending" | "done" | "skipped" | "failed";

/** The plan of a run: one row per document to upsert or delete, grouped in batches. */
export const syncRunItems = pgTable(
  "sync_run_items",
  {
    runId: uuid("run_id")
      .notNull()
      .references(() => syncRuns.id, { onDelete: "cascade" }),
    path: text("path").notNull(),
    action: text("action").$type<"upsert" | "delete">().notNull(),
    blobSha: text("blob_sha"),
    size: integer("size"),
    batch: integer("batch").notNull(),
    status: text("status").$type<ItemStatus>().notNull().default("pending"),
    reason: text("reason"),
    error: text("error"),
    /** lib/resilience/retry.ts's class of a failure, and the dependency that failed. */
    errorClass: text("error_class"),
    dependency: text("dependency"),
    attempts: integer("attempts").notNull().default(0),
    ...indexingWork(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.path] }),
    index("sync_run_items_batch_idx").on(t.runId, t.batch, t.status),
  ],
);

/**
 * Deprecated: replaced by the dead-letter queue (dead_letters). Nothing reads or writes it any
 * more; its rows were copied into dead_letters by migration 0007. Kept for one release so the
 * previous release still works during a rollback (expand/contract); a later release drops it.
 */
export const documentFailures = pgTable(
  "document_failures",
  {
    sourceId: uuid("source_id")
      .notNull()
      .references(() => sources.id, { onDelete: "cascade" }),
    path: text("path").notNull(),
    blobSha: text("blob_sha"),
    error: text("error").notNull(),
    attempts: integer("attempts").notNull().default(1),
    lastRunId: uuid("last_run_id"),
    firstFailedAt: timestamp("first_failed_at", { withTimezone: true }).notNull().defaultNow(),
    lastFailedAt: timestamp("last_failed_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.sourceId, t.path] })],
);
