import { sql } from "drizzle-orm";
import {
  bigint,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from "drizzle-orm/pg-core";

export const SPAN_KINDS = ["step", "external"] as const;
export type SpanKind = (typeof SPAN_KINDS)[number];
export const SPAN_STATUSES = ["ok", "error"] as const;
export type SpanStatus = (typeof SPAN_STATUSES)[number];

/**
 * Trace envelopes: one row per workflow step attempt and per external call (embedding provider,
 * GitHub, git, the archive store). Ids are OpenTelemetry's (32 / 16 hex digits); the trace id
 * is derived from the correlation id. Inputs and outputs are summaries (sizes, counts, hashes),
 * never contents; every text field is redacted before it is written.
 */
export const traceSpans = pgTable(
  "trace_spans",
  {
    spanId: text("span_id").primaryKey(),
    traceId: text("trace_id").notNull(),
    parentSpanId: text("parent_span_id"),
    correlationId: text("correlation_id"),
    kind: text("kind").$type<SpanKind>().notNull(),
    /** Step id, or the external call (`embedding.embed`, `github.request`, `git.fetch`, `archive.put`). */
    name: text("name").notNull(),
    /** The workflow (Inngest function id) the span ran in, when it ran in one. */
    function: text("function"),
    driver: text("driver"),
    runId: uuid("run_id"),
    sourceId: uuid("source_id"),
    eventId: text("event_id"),
    attempt: integer("attempt").notNull().default(1),
    status: text("status").$type<SpanStatus>().notNull(),
    errorClass: text("error_class"),
    errorMessage: text("error_message"),
    startedAt: timestamp("started_at", { withTimezone: true, mode: "date" }).notNull(),
    endedAt: timestamp("ended_at", { withTimezone: true, mode: "date" }).notNull(),
    durationMs: doublePrecision("duration_ms").notNull(),
    input: jsonb("input").$type<Record<string, unknown>>(),
    output: jsonb("output").$type<Record<string, unknown>>(),
    attributes: jsonb("attributes").$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [
    index("trace_spans_started_idx").on(t.startedAt, t.spanId),
    index("trace_spans_trace_idx").on(t.traceId),
    index("trace_spans_run_idx").on(t.runId, t.startedAt),
    index("trace_spans_correlation_idx").on(t.correlationId, t.startedAt),
    index("trace_spans_source_idx").on(t.sourceId, t.startedAt),
    check("trace_spans_status_check", sql`${t.status} in ('ok', 'error')`),
    check("trace_spans_kind_check", sql`${t.kind} in ('step', 'external')`),
  ],
);

/**
 * What the archive store holds, per table, day and part: written after the archive was read
 * back and verified, before any row of it is deleted. The manifest beside the data object in
 * the store is the authority (this table is its index and can be rebuilt from the store).
 */
export const archiveParts = pgTable(
  "archive_parts",
  {
    /** `trace_spans`, `outbox_events`, `webhook_deliveries`, … */
    dataset: text("dataset").notNull(),
    /** UTC day, YYYY-MM-DD. */
    day: text("day").notNull(),
    part: integer("part").notNull(),
    key: text("key").notNull(),
    rows: bigint("rows", { mode: "number" }).notNull(),
    bytes: bigint("bytes", { mode: "number" }).notNull(),
    sha256: text("sha256").notNull(),
    contentSha256: text("content_sha256").notNull(),
    verifiedAt: timestamp("verified_at", { withTimezone: true }).notNull(),
    /** Rows deleted from the table after verification (so far). */
    deletedRows: bigint("deleted_rows", { mode: "number" }).notNull().default(0),
    /** Set when the archive was expired (ARCHIVE_RETENTION_DAYS) and removed from the store. */
    expiredAt: timestamp("expired_at", { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.dataset, t.day, t.part] })],
);

export const CLEANUP_STATUSES = [
  "running",
  "awaiting_approval",
  "succeeded",
  "failed",
  "rejected",
  "aborted",
] as const;
export type CleanupStatus = (typeof CLEANUP_STATUSES)[number];

/** One run of the cleanup workflow: its plan (what it would delete), counts per kind, outcome. */
export const cleanupRuns = pgTable(
  "cleanup_runs",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** The tick or request this run is for; the same key is the same run. */
    dedupeKey: text("dedupe_key").notNull().unique(),
    correlationId: text("correlation_id"),
    trigger: text("trigger").notNull(),
    requestedBy: text("requested_by"),
    status: text("status").$type<CleanupStatus>().notNull().default("running"),
    dryRun: integer("dry_run").notNull().default(0),
    /** What would be deleted, per kind (and per source for chunks), before anything is. */
    plan: jsonb("plan").$type<Record<string, unknown>>().notNull().default({}),
    /** What was done, per kind. */
    counts: jsonb("counts").$type<Record<string, number>>().notNull().default({}),
    approvalRequired: text("approval_required"),
    decidedBy: text("decided_by"),
    decision: text("decision"),
    decisionReason: text("decision_reason"),
    decidedAt: timestamp("decided_at", { withTimezone: true }),
    error: text("error"),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [
    index("cleanup_runs_started_idx").on(t.startedAt),
    check(
      "cleanup_runs_status_check",
      sql`${t.status} in ('running', 'awaiting_approval', 'succeeded', 'failed', 'rejected', 'aborted')`,
    ),
  ],
);
