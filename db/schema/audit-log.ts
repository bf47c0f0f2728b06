import { bigint, index, integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/** Every admin action: who, what, when, and how it ended. Append-only. */
export const auditLog = pgTable(
  "audit_log",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    /** Key name, `cli:<user>` or `anonymous`. */
    actor: text("actor").notNull(),
    actorKeyId: uuid("actor_key_id"),
    action: text("action").notNull(),
    target: text("target"),
    /** ok | denied | error */
    result: text("result").notNull(),
    status: integer("status"),
    details: jsonb("details").$type<Record<string, unknown>>(),
    requestId: text("request_id"),
  },
  (t) => [index("audit_log_at_idx").on(t.at), index("audit_log_actor_idx").on(t.actor, t.at)],
);
