import { sql } from "drizzle-orm";
import {
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

export type AlertSeverity = "info" | "warning" | "critical";
export type AlertStatus = "firing" | "resolved";

/**
 * Alert records: raised by any workflow (a failed sync, a deep DLQ, a cleanup awaiting approval
 * past its timeout, a replay below its gate) or by the monitor's rules, and delivered by the
 * monitoring layer. At most one firing record per dedupe key; raising it again counts.
 */
export const alerts = pgTable(
  "alerts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** Dedupe key, e.g. `sync.failed:<sourceId>`: one firing record per key. */
    key: text("key").notNull(),
    /** The rule or raiser: `sync.failed`, `dlq.depth`, `cleanup.approval-timeout`, … */
    rule: text("rule").notNull(),
    severity: text("severity").$type<AlertSeverity>().notNull(),
    status: text("status").$type<AlertStatus>().notNull().default("firing"),
    summary: text("summary").notNull(),
    details: jsonb("details").$type<Record<string, unknown>>().notNull().default({}),
    sourceId: uuid("source_id"),
    correlationId: text("correlation_id"),
    occurrences: integer("occurrences").notNull().default(1),
    firstRaisedAt: timestamp("first_raised_at", { withTimezone: true }).notNull().defaultNow(),
    lastRaisedAt: timestamp("last_raised_at", { withTimezone: true }).notNull().defaultNow(),
    resolvedAt: timestamp("resolved_at", { withTimezone: true }),
    resolution: text("resolution"),
  },
  (t) => [
    uniqueIndex("alerts_firing_key_idx").on(t.key).where(sql`${t.status} = 'firing'`),
    index("alerts_status_raised_idx").on(t.status, t.lastRaisedAt),
  ],
);
