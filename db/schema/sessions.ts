import { sql } from "drizzle-orm";
import { bigint, check, index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { apiKeys, type Role } from "./api-keys";

/**
 * Console sign-in sessions, kept on the server so they can be listed and revoked. The browser
 * holds a random token in an HTTP-only cookie; only its SHA-256 is stored. A session is made
 * either from an API key (it ends when the key is revoked) or from a GitHub identity whose role
 * came from the allow-list at sign-in.
 */
export const sessions = pgTable(
  "sessions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tokenHash: text("token_hash").notNull().unique(),
    kind: text("kind").$type<"key" | "github">().notNull(),
    keyId: uuid("key_id").references(() => apiKeys.id, { onDelete: "cascade" }),
    githubLogin: text("github_login"),
    githubId: bigint("github_id", { mode: "number" }),
    role: text("role").$type<Role>().notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    lastSeenAt: timestamp("last_seen_at", { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    /** The client address and browser at sign-in, for the sessions list. */
    client: text("client"),
    userAgent: text("user_agent"),
  },
  (t) => [
    index("sessions_expires_idx").on(t.expiresAt),
    check("sessions_kind_check", sql`${t.kind} in ('key', 'github')`),
    check("sessions_role_check", sql`${t.role} in ('viewer', 'operator', 'admin')`),
    check(
      "sessions_identity_check",
      sql`(${t.kind} = 'key' and ${t.keyId} is not null) or (${t.kind} = 'github' and ${t.githubLogin} is not null)`,
    ),
  ],
);
