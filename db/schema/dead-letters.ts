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
import { sources } from "./sources";

export const DEAD_LETTER_KINDS = ["document", "event"] as const;
export type DeadLetterKind = (typeof DEAD_LETTER_KINDS)[number];

import { DEAD_LETTER_STATUSES, type DeadLetterStatus } from "./values";

export { DEAD_LETTER_STATUSES, type DeadLetterStatus };

/**
 * The dead-letter queue: a document or an event that exhausted its retries. Holds references
 * (ids, paths, the event's id-only data), never file contents, tokens or emails.
 */
export const deadLetters = pgTable(
  "dead_letters",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    kind: text("kind").$type<DeadLetterKind>().notNull(),
    /** One open entry per thing: `document:<sourceId>:<path>` or `event:<root event id>`. */
    key: text("key").notNull(),
    sourceId: uuid("source_id").references(() => sources.id, { onDelete: "cascade" }),
    /** The last run it failed in. */
    runId: uuid("run_id"),
    path: text("path"),
    blobSha: text("blob_sha"),
    /** An event entry: the failed function, and the event to send again. */
    functionId: text("function_id"),
    eventName: text("event_name"),
    eventData: jsonb("event_data").$type<Record<string, unknown>>(),
    /** The breaker that guards what failed (embedding:openai, github, s3), when known. */
    dependency: text("dependency"),
    errorClass: text("error_class").notNull(),
    message: text("message").notNull(),
    /** Failures seen (the first included). */
    attempts: integer("attempts").notNull().default(1),
    /** Re-drives so far (by the workflow or an operator). */
    recoveries: integer("recoveries").notNull().default(0),
    status: text("status").$type<DeadLetterStatus>().notNull().default("pending"),
    firstSeenAt: timestamp("first_seen_at", { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp("last_seen_at", { withTimezone: true }).notNull().defaultNow(),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull().defaultNow(),
    resolvedAt: timestamp("resolved_at", { withTimezone: true }),
    resolution: text("resolution"),
    correlationId: text("correlation_id"),
  },
  (t) => [
    uniqueIndex("dead_letters_open_key_idx")
      .on(t.key)
      .where(sql`${t.status} in ('pending', 'redriven', 'parked')`),
    index("dead_letters_status_next_idx").on(t.status, t.nextAttemptAt),
    index("dead_letters_source_idx").on(t.sourceId, t.status),
    // The console's pages, newest first: one status (resolved, discarded…) and the open ones.
    index("dead_letters_status_seen_idx").on(t.status, t.lastSeenAt, t.id),
    index("dead_letters_open_seen_idx")
      .on(t.lastSeenAt, t.id)
      .where(sql`${t.status} in ('pending', 'redriven', 'parked')`),
    check("dead_letters_kind_check", sql`${t.kind} in ('document', 'event')`),
    check(
      "dead_letters_status_check",
      sql`${t.status} in ('pending', 'redriven', 'parked', 'resolved', 'discarded')`,
    ),
  ],
);

/** Every attempt on a dead-letter entry: failures, re-drives, parking, operator actions. */
export const deadLetterAttempts = pgTable(
  "dead_letter_attempts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    entryId: uuid("entry_id")
      .notNull()
      .references(() => deadLetters.id, { onDelete: "cascade" }),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    /** failed | redrive | retry | park | discard | resolved */
    action: text("action").notNull(),
    /** Who: error-recovery, an operator's name, a run id. */
    actor: text("actor").notNull(),
    detail: text("detail"),
  },
  (t) => [index("dead_letter_attempts_entry_idx").on(t.entryId, t.at)],
);
