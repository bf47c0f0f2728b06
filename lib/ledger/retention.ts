import { gzipSync } from "node:zlib";
import { and, asc, inArray, lt } from "drizzle-orm";
import type { Database } from "../../db/client";
import { ledgerEntries } from "../../db/schema";
import type { ArchiveStore } from "../archive";
import { ValidationError } from "../errors";

/** The ledger is kept at least this long (LEDGER_RETENTION_DAYS's minimum): a day's replay needs it. */
export const MIN_LEDGER_RETENTION_DAYS = 2;

export interface PruneOptions {
  retentionDays: number;
  /** Entries are written here (gzipped JSON lines) before they are deleted; none → deleted only. */
  archive?: ArchiveStore;
  now?: Date;
  /** Entries per archive object and delete. Default 5000. */
  batchSize?: number;
  /** Stop after this many entries (the cleanup workflow's step budget). Default: all due. */
  limit?: number;
}

export interface PruneResult {
  cutoff: string;
  archived: number;
  deleted: number;
  /** Archive objects written, oldest first. */
  keys: string[];
  /** More entries are due (limit reached). */
  more: boolean;
}

/**
 * Retention of the parity ledger, for the cleanup workflow: entries older than
 * `retentionDays` are archived (each slice written and checksummed before its rows are
 * deleted, so a failure loses nothing) and then deleted. Idempotent: a repeated call with the
 * same cutoff finds nothing left, and an archive object is keyed by the ids it holds.
 */
export async function pruneLedger(db: Database, options: PruneOptions): Promise<PruneResult> {
  if (!Number.isFinite(options.retentionDays) || options.retentionDays < MIN_LEDGER_RETENTION_DAYS)
    throw new ValidationError(
      `ledger retention must be at least ${MIN_LEDGER_RETENTION_DAYS} days (a day's replay reads it)`,
      [{ path: "retentionDays", message: `at least ${MIN_LEDGER_RETENTION_DAYS}` }],
    );
  const now = options.now ?? new Date();
  const cutoff = new Date(now.getTime() - options.retentionDays * 86_400_000);
  const batchSize = Math.min(Math.max(options.batchSize ?? 5000, 1), 50_000);
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const result: PruneResult = {
    cutoff: cutoff.toISOString(),
    archived: 0,
    deleted: 0,
    keys: [],
    more: false,
  };
  while (result.deleted < limit) {
    const rows = await db
      .select()
      .from(ledgerEntries)
      .where(lt(ledgerEntries.recordedAt, cutoff))
      .orderBy(asc(ledgerEntries.id))
      .limit(Math.min(batchSize, limit - result.deleted));
    if (rows.length === 0) return result;
    const first = rows[0];
    const last = rows[rows.length - 1];
    if (!first || !last) return result;
    if (options.archive) {
      const key = `ledger/${first.recordedAt.toISOString().slice(0, 10)}/${first.id}-${last.id}.jsonl.gz`;
      const body = gzipSync(
        `${rows.map((r) => JSON.stringify({ ...r, recordedAt: r.recordedAt.toISOString() })).join("\n")}\n`,
      );
      await options.archive.put(key, body, {
        contentType: "application/gzip",
        metadata: { entries: String(rows.length), cutoff: result.cutoff },
      });
      result.keys.push(key);
      result.archived += rows.length;
    }
    const ids = rows.map((r) => r.id);
    const gone = await db
      .delete(ledgerEntries)
      .where(and(inArray(ledgerEntries.id, ids), lt(ledgerEntries.recordedAt, cutoff)))
      .returning({ id: ledgerEntries.id });
    result.deleted += gone.length;
    if (rows.length < batchSize) return result;
  }
  const [remaining] = await db
    .select({ id: ledgerEntries.id })
    .from(ledgerEntries)
    .where(lt(ledgerEntries.recordedAt, cutoff))
    .limit(1);
  result.more = remaining !== undefined;
  return result;
}
