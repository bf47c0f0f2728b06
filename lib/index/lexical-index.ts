import { sql } from "drizzle-orm";
import { type Database, hasSqlState, rowsOf } from "../../db/client";

/** The chunks' GIN index over their lexemes (migration 0004). */
export const LEXICAL_INDEX = "chunks_lexemes_idx";

/**
 * Moves the lexical index's pending entries into its main structure and returns how many
 * pending-list pages that emptied.
 *
 * Postgres's GIN indexes take new entries into an unsorted pending list (up to
 * gin_pending_list_limit, 4 MB) and merge it into the index later: in vacuum, or in the insert
 * that finds the list full. Every lexical lookup scans the whole list meanwhile. The embedded
 * database has no autovacuum, so after a sync the list sat there until a later sync filled it:
 * at 103,646 chunks a full list was 461 pages, about 1.2 ms added to each term's lookup (the
 * search's postings statement 17.2 → 14.2 ms, p50 45.7 → 41.5 ms once merged, 0.5 s to merge).
 * Run at the end of each sync, it merges what that sync added, which a later insert or vacuum
 * would have merged anyway. Where the database user does not own the index (a managed
 * Postgres with another owner; autovacuum merges there), it does nothing and returns null.
 */
export async function mergeLexicalPendingList(db: Database): Promise<number | null> {
  try {
    const [row] = rowsOf<{ pages: number | string }>(
      await db.execute(sql`select gin_clean_pending_list(${LEXICAL_INDEX}::regclass) as pages`),
    );
    return Number(row?.pages ?? 0);
  } catch (error) {
    if (hasSqlState(error, "42501")) return null; // insufficient privilege: not the owner
    throw error;
  }
}
