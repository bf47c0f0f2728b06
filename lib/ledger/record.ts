import { eq, inArray, sql } from "drizzle-orm";
import { type Database, rowsOf } from "../../db/client";
import { type LedgerKind, ledgerEntries, sources } from "../../db/schema";
import { createScrubber } from "../log/scrub";

/**
 * The parity ledger: what Ballast was asked to do (inbound events) and what each run decided
 * and did (plan, batches, outcome), by correlation id, so a replay of the same events through
 * other code can be compared with it (lib/replay). Every entry is scrubbed of secrets (the
 * configured secret values and the shapes of credentials) and never holds file contents:
 * paths, blob and content hashes, counts, latencies and error messages only. Every write is
 * keyed, so a retried step, a redelivered event or a dashboard replay adds nothing.
 */

export interface LedgerInput {
  key: string;
  kind: LedgerKind;
  name: string;
  correlationId?: string | null;
  sourceId?: string | null;
  runId?: string | null;
  data: Record<string, unknown>;
}

/** Whether and how a caller records: off (LEDGER_ENABLED=false) writes nothing. */
export interface LedgerOptions {
  enabled?: boolean;
  /** The configuration's secret values (config.secrets), scrubbed wherever they appear. */
  secrets?: readonly string[];
}

const scrubbers = new Map<string, (text: string) => string>();

function scrubberFor(secrets: readonly string[] = []): (text: string) => string {
  const id = secrets.join("\0");
  let scrub = scrubbers.get(id);
  if (!scrub) {
    scrub = createScrubber(secrets);
    if (scrubbers.size > 16) scrubbers.clear();
    scrubbers.set(id, scrub);
  }
  return scrub;
}

/** A JSON value with every string scrubbed (through its JSON text, so escaped secrets go too). */
export function scrubJson<T>(value: T, secrets?: readonly string[]): T {
  return JSON.parse(scrubberFor(secrets)(JSON.stringify(value))) as T;
}

/** Writes entries (scrubbed), skipping keys already recorded. Returns how many were new. */
export async function recordLedger(
  db: Database,
  entries: LedgerInput[],
  options: LedgerOptions = {},
): Promise<number> {
  if (options.enabled === false || entries.length === 0) return 0;
  const rows = entries.map((e) => ({
    key: e.key,
    kind: e.kind,
    name: e.name,
    correlationId: e.correlationId ?? null,
    sourceId: e.sourceId ?? null,
    runId: e.runId ?? null,
    data: scrubJson(e.data, options.secrets),
  }));
  const inserted = await db
    .insert(ledgerEntries)
    .values(rows)
    .onConflictDoNothing({ target: ledgerEntries.key })
    .returning({ id: ledgerEntries.id });
  return inserted.length;
}

/** The first 16 hex digits of a hash: enough to tell chunks apart, a quarter of the bytes. */
export const short = (hash: string) => hash.slice(0, 16);

export interface IndexDigest {
  /** sha256 over the sorted `(path, chunk content hash)` pairs of the source's chunks. */
  digest: string;
  documents: number;
  chunks: number;
}

/**
 * The index digest of a source: a hash over its sorted `(path, chunk content hash)` pairs.
 * Two indexes with the same digest hold the same text under the same paths, chunked alike
 * (vectors and positions aside).
 *
 * Exactly: sha256 over `path \0 content_hash \n` for every chunk, in the order of path
 * then content hash compared byte by byte in UTF-8 (Unicode code point order). Computed in
 * the database, in one aggregate: every sync records it (lib/ledger/pipeline.ts), and reading
 * a large source's pairs into JS cost more than the rest of a small incremental sync's
 * finishing (the bench's 100-file incremental over 53,419 chunks: 315 ms, now 203 ms).
 */
export async function indexDigest(db: Database, sourceId: string): Promise<IndexDigest> {
  const [row] = rowsOf<{ digest: string; documents: number; chunks: number }>(
    await db.execute(sql`
      select encode(sha256(coalesce(string_agg(
          convert_to(path, 'UTF8') || '\\x00'::bytea || convert_to(content_hash, 'UTF8') || '\\x0a'::bytea,
          ''::bytea order by path collate "C", content_hash collate "C"), ''::bytea)), 'hex') as digest,
        count(distinct path)::int as documents, count(*)::int as chunks
      from chunks where source_id = ${sourceId}`),
  );
  return {
    digest: String(row?.digest ?? ""),
    documents: Number(row?.documents ?? 0),
    chunks: Number(row?.chunks ?? 0),
  };
}

export async function chunkPairs(db: Database, sourceId: string): Promise<[string, string][]> {
  const rows = rowsOf<{ path: string; content_hash: string }>(
    await db.execute(sql`select path, content_hash from chunks where source_id = ${sourceId}`),
  );
  return rows.map((r) => [r.path, r.content_hash]);
}

/** Per document: its sorted chunk content hashes (short), for naming what a diff changed. */
export async function documentChunks(
  db: Database,
  sourceId: string,
): Promise<Map<string, string[]>> {
  const byPath = new Map<string, string[]>();
  for (const [path, hash] of await chunkPairs(db, sourceId)) {
    const list = byPath.get(path);
    if (list) list.push(short(hash));
    else byPath.set(path, [short(hash)]);
  }
  for (const list of byPath.values()) list.sort();
  return byPath;
}

/** A source's cursor as the ledger records it (before and after a run). */
export interface CursorState {
  commit: string | null;
  branch: string | null;
  filterHash: string | null;
}

export async function cursorOf(db: Database, sourceId: string): Promise<CursorState | null> {
  const [row] = await db
    .select({
      commit: sources.cursorCommit,
      branch: sources.cursorBranch,
      filterHash: sources.cursorFilterHash,
    })
    .from(sources)
    .where(eq(sources.id, sourceId))
    .limit(1);
  return row ?? null;
}

export type LedgerRow = typeof ledgerEntries.$inferSelect;

/** The entries of some runs (plan, batches, outcome), in the order they were recorded. */
export async function runEntries(db: Database, runIds: string[]): Promise<LedgerRow[]> {
  if (runIds.length === 0) return [];
  return db
    .select()
    .from(ledgerEntries)
    .where(inArray(ledgerEntries.runId, runIds))
    .orderBy(ledgerEntries.id);
}
