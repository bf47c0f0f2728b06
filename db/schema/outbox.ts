import { index, integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * Every GitHub delivery, stored before it is acknowledged. The delivery id is the key,
 * so a redelivery is recognised and not processed twice.
 */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    deliveryId: text("delivery_id").primaryKey(),
    event: text("event").notNull(),
    action: text("action"),
    repository: text("repository"),
    /** accepted | ignored | rejected */
    outcome: text("outcome").notNull(),
    detail: text("detail"),
    sourceId: uuid("source_id"),
    bodySha256: text("body_sha256").notNull(),
    payload: jsonb("payload").notNull(),
    receivedAt: timestamp("received_at", { withTimezone: true }).notNull().defaultNow(),
    duplicates: integer("duplicates").notNull().default(0),
  },
  (t) => [index("webhook_deliveries_received_idx").on(t.receivedAt)],
);

export type OutboxStatus = "pending" | "sent" | "dead";

/**
 * Events waiting to reach Inngest. Written in the same transaction as what caused them;
 * sent at once when Inngest answers, re-sent by the outbox flusher when it did not.
 */
export const outboxEvents = pgTable(
  "outbox_events",
  {
    /** Also the Inngest event id, so Inngest deduplicates a re-send. */
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull(),
    status: text("status").$type<OutboxStatus>().notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull().defaultNow(),
    sentAt: timestamp("sent_at", { withTimezone: true }),
  },
  (t) => [index("outbox_events_pending_idx").on(t.status, t.nextAttemptAt)],
);
