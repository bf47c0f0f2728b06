import { sql } from "drizzle-orm";
import {
  bigserial,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

export type LedgerKind = "event" | "plan" | "batch" | "run";

/**
 * The parity ledger (lib/ledger): every inbound event (webhook delivery, admin request, cron
 * tick) and every run's decisions and outcomes, by correlation id. Entries are scrubbed of
 * secrets and never hold file contents: paths, hashes, counts, latencies and errors only.
 * `key` makes every write idempotent (a retried step or a replayed event adds nothing).
 */
export const ledgerEntries = pgTable(
  "ledger_entries",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** e.g. `run:<runId>`, `batch:<runId>:<n>`, `event:webhook:<deliveryId>`. */
    key: text("key").notNull(),
    kind: text("kind").$type<LedgerKind>().notNull(),
    /** What it records: `github.webhook`, `admin.request`, `cron.tick`, `sync.plan`, … */
    name: text("name").notNull(),
    correlationId: text("correlation_id"),
    sourceId: uuid("source_id"),
    runId: uuid("run_id"),
    data: jsonb("data").$type<Record<string, unknown>>().notNull().default({}),
    recordedAt: timestamp("recorded_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("ledger_entries_key").on(t.key),
    index("ledger_entries_recorded_idx").on(t.recordedAt),
    index("ledger_entries_correlation_idx").on(t.correlationId),
    index("ledger_entries_run_idx").on(t.runId),
  ],
);

/** A replay's scorecard (lib/replay/scorecard.ts): listed by GET /api/admin/replays. */
export const replayReports = pgTable(
  "replay_reports",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** Makes a report idempotent: the nightly workflow's `nightly:<day>`; else random. */
    dedupeKey: text("dedupe_key").notNull(),
    bundleId: text("bundle_id").notNull(),
    /** Where the bundle came from: `archive:<key>` or a file name (no directory). */
    bundleRef: text("bundle_ref"),
    trigger: text("trigger").$type<"cli" | "schedule" | "admin">().notNull(),
    events: integer("events").notNull(),
    passed: integer("passed").notNull(),
    drift: integer("drift").notNull(),
    critical: integer("critical").notNull(),
    passRate: doublePrecision("pass_rate").notNull(),
    minPassRate: doublePrecision("min_pass_rate").notNull(),
    gatePassed: boolean("gate_passed").notNull(),
    scorecard: jsonb("scorecard").$type<Record<string, unknown>>().notNull(),
    markdown: text("markdown").notNull(),
    correlationId: text("correlation_id"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("replay_reports_dedupe_key").on(t.dedupeKey),
    index("replay_reports_created_idx").on(t.createdAt),
    index("replay_reports_gate_idx").on(t.gatePassed).where(sql`${t.gatePassed} = false`),
  ],
);
