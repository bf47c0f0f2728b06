import { sql } from "drizzle-orm";
import {
  bigserial,
  boolean,
  doublePrecision,
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

export type SampleResolution = "raw" | "hour";

/**
 * The monitor's time series for the console's charts and the alert rules: one row per figure
 * (and bounded label set) per tick. Raw rows are kept 48 hours, then rolled up to one row per
 * hour (average, with min and max) kept 30 days.
 */
export const metricSamples = pgTable(
  "metric_samples",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    name: text("name").notNull(),
    /** Bounded labels as `k=v,k=v` (sorted), or "" for none. Never paths or ids of requests. */
    labels: text("labels").notNull().default(""),
    at: timestamp("at", { withTimezone: true }).notNull(),
    value: doublePrecision("value").notNull(),
    resolution: text("resolution").$type<SampleResolution>().notNull().default("raw"),
    min: doublePrecision("min"),
    max: doublePrecision("max"),
    /** Samples folded into an hourly row. */
    samples: integer("samples").notNull().default(1),
  },
  (t) => [
    index("metric_samples_name_at_idx").on(t.name, t.at),
    index("metric_samples_resolution_at_idx").on(t.resolution, t.at),
    // A metric's latest raw sample (the metrics scrape's three lookups): one index descent each.
    index("metric_samples_name_resolution_at_idx").on(t.name, t.resolution, t.at),
    uniqueIndex("metric_samples_hour_key")
      .on(t.name, t.labels, t.at)
      .where(sql`${t.resolution} = 'hour'`),
  ],
);

/** Where each alert rule instance stands between ticks: for how long its condition held or cleared. */
export const alertRuleState = pgTable("alert_rule_state", {
  /** The dedupe key of the instance (`<rule>` or `<rule>:<label>`). */
  key: text("key").primaryKey(),
  rule: text("rule").notNull(),
  /** Since when the firing condition holds (null: it does not). */
  pendingSince: timestamp("pending_since", { withTimezone: true }),
  /** Since when the condition is clear while the alert fires (null: it is not). */
  clearSince: timestamp("clear_since", { withTimezone: true }),
  lastValue: doublePrecision("last_value"),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

export type NotificationKind = "firing" | "resolved";
export type NotificationStatus =
  /** Due for delivery at next_attempt_at. */
  | "pending"
  /** Waiting for the working-hours window (next_attempt_at is its start). */
  | "delayed"
  /** Held until an admin approves the channel (a new channel, too many recipients). */
  | "awaiting_approval"
  | "sent"
  /** The channel is in log-only mode: recorded, not sent. */
  | "logged"
  /** Not sent, on purpose, with the reason (cooldown, a limit, channel off). */
  | "suppressed"
  /** Gave up after the attempt limit (kept for an operator). */
  | "dead";

/**
 * The notification outbox: one row per alert, channel and kind (firing or resolved), written
 * before anything is sent. A channel that is down leaves its rows pending with backoff; every
 * row that is not sent says why.
 */
export const notifications = pgTable(
  "notifications",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    alertId: uuid("alert_id").notNull(),
    alertKey: text("alert_key").notNull(),
    rule: text("rule").notNull(),
    severity: text("severity").notNull(),
    kind: text("kind").$type<NotificationKind>().notNull(),
    channel: text("channel").notNull(),
    /** The host the channel sends to (per-domain limits). */
    domain: text("domain").notNull(),
    status: text("status").$type<NotificationStatus>().notNull(),
    reason: text("reason"),
    /** A fire-test's synthetic alert (working hours and limits do not hold it back). */
    test: boolean("test").notNull().default(false),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull().defaultNow(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    sentAt: timestamp("sent_at", { withTimezone: true }),
    /** What the channel answered or recorded (status code, message id); never secrets. */
    receipt: jsonb("receipt").$type<Record<string, unknown>>(),
  },
  (t) => [
    uniqueIndex("notifications_alert_channel_kind_key").on(t.alertId, t.channel, t.kind),
    index("notifications_due_idx").on(t.status, t.nextAttemptAt),
    index("notifications_key_idx").on(t.alertKey, t.channel, t.createdAt),
    index("notifications_sent_idx").on(t.sentAt),
  ],
);

export type ChannelState = "closed" | "open";

/**
 * Health of each notification channel, as the first channel breaker kept it. No longer written
 * or read: channels use the shared breakers (`alerts.<id>`, lib/resilience/breaker.ts). Kept
 * for a later contract migration to drop, as deploys are expand-then-contract.
 */
export const channelHealth = pgTable("channel_health", {
  channel: text("channel").primaryKey(),
  state: text("state").$type<ChannelState>().notNull().default("closed"),
  consecutiveFailures: integer("consecutive_failures").notNull().default(0),
  openedAt: timestamp("opened_at", { withTimezone: true }),
  retryAt: timestamp("retry_at", { withTimezone: true }),
  lastError: text("last_error"),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

/** Channels (by a fingerprint of where they send) an admin approved. A new channel waits for one. */
export const channelApprovals = pgTable(
  "channel_approvals",
  {
    channel: text("channel").notNull(),
    fingerprint: text("fingerprint").notNull(),
    approvedBy: text("approved_by").notNull(),
    approvedAt: timestamp("approved_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.channel, t.fingerprint] })],
);

/**
 * What an outbound integration in log-only mode would have sent, recorded instead of sent (the
 * embedding provider under EMBEDDING_MODE=log-only; notification channels record theirs on
 * their notification rows). Counts and estimates only: never the text, never a key.
 */
export const simulatedCalls = pgTable(
  "simulated_calls",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** The integration, as /api/health names it: `embedding.openai`, `embedding.cohere`. */
    integration: text("integration").notNull(),
    /** What was asked: `embed_documents`, `embed_query`. */
    operation: text("operation").notNull(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    /** Inputs in the call (texts). */
    items: integer("items").notNull(),
    /** The requests the live provider would have been sent (its batching). */
    requests: integer("requests").notNull(),
    /** Input tokens by the provider's own tokeniser (or its documented estimate). */
    tokens: integer("tokens").notNull(),
    /** Model, dimensions, the cost the live provider would have billed; never inputs. */
    details: jsonb("details").$type<Record<string, unknown>>().notNull(),
  },
  (t) => [index("simulated_calls_integration_at_idx").on(t.integration, t.at)],
);
