import { sql } from "drizzle-orm";
import { check, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

import { ROLES, type Role } from "./values";

export { ROLES, type Role };

/** Admin API keys. Only a SHA-256 of the secret is stored; the key is shown once at creation. */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    name: text("name").notNull(),
    /** Public lookup part of the key (`blst_<prefix>_<secret>`). */
    prefix: text("prefix").notNull().unique(),
    secretHash: text("secret_hash").notNull(),
    role: text("role").$type<Role>().notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [check("api_keys_role_check", sql`${t.role} in ('viewer', 'operator', 'admin')`)],
);
