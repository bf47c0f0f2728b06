import { sql } from "drizzle-orm";
import {
  bigint,
  check,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { timestamps } from "./columns";

/** A repository Ballast keeps indexed. The cursor advances only when a sync completes. */
export const sources = pgTable(
  "sources",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    name: text("name").notNull(),
    kind: text("kind").$type<"git" | "github">().notNull(),
    /** git: local path or URL; github: owner/repo. */
    location: text("location").notNull(),
    /** null → the repository's default branch. */
    branch: text("branch"),
    include: jsonb("include").$type<string[]>().notNull().default([]),
    exclude: jsonb("exclude").$type<string[]>().notNull().default([]),
    maxFileBytes: integer("max_file_bytes"),
    status: text("status").$type<"active" | "paused">().notNull().default("active"),
    githubInstallationId: bigint("github_installation_id", { mode: "number" }),
    cursorCommit: text("cursor_commit"),
    cursorBranch: text("cursor_branch"),
    /** Filters (include/exclude/size) the cursor was synced under; a change forces a full sync. */
    cursorFilterHash: text("cursor_filter_hash"),
    cursorAt: timestamp("cursor_at", { withTimezone: true }),
    lastRunId: uuid("last_run_id"),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("sources_name_key").on(t.name),
    check("sources_kind_check", sql`${t.kind} in ('git', 'github')`),
    check("sources_status_check", sql`${t.status} in ('active', 'paused')`),
  ],
);
