import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { type Database, rowsOf } from "../../db/client";

/**
 * One partial HNSW cosine index per (embedding space, source), on `(embedding::vector(N))`
 * for that source's rows of that space — for sources of at least `minChunks` chunks
 * (VECTOR_INDEX_MIN_CHUNKS) of the space. Smaller sources have none: their vector search is
 * exact (a scan of that source's rows, recall 1), and their syncs pay no index build.
 *
 * - A new space (another model or dimension) needs no migration, and chunks of several
 *   spaces live side by side while a change is re-embedded.
 * - Per source, the cost of indexing follows the change, not the corpus: adding a source, or
 *   re-syncing one in full, builds (or rebuilds) that source's index only; the other sources'
 *   indexes are neither rebuilt nor dropped, and keep answering searches.
 * - The index is built when a source reaches `minChunks` (at the end of the sync that took it
 *   there) and dropped when it shrinks under half of that (hysteresis: a source hovering at
 *   the threshold is not rebuilt at every sync).
 * - Search reads each source's index (lib/index/search.ts); a source without one (small, or
 *   its first bulk load still running) is searched exactly.
 *
 * Chosen by measurement (bench/vector-strategies.ts, the bench corpus, local embedder): exact
 * search is recall 1 and cheaper than the HNSW build it saves up to tens of thousands of
 * chunks; IVFFlat builds fast but its recall on hashed vectors needs most lists probed (no
 * cheaper than exact); binary quantisation with an exact re-rank loses most of the top 10.
 */
export interface EmbeddingSpace {
  space: string;
  dimensions: number;
}

export interface SourceVectorIndex extends EmbeddingSpace {
  sourceId: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function vectorIndexName(target: SourceVectorIndex): string {
  const key = `${target.space}\u0000${target.sourceId}`;
  return `chunks_hnsw_${createHash("sha256").update(key).digest("hex").slice(0, 16)}`;
}

/** The one index per space of earlier versions (superseded by the per-source indexes). */
export function legacyVectorIndexName(space: string): string {
  return `chunks_hnsw_${createHash("sha256").update(space).digest("hex").slice(0, 16)}`;
}

function assertTarget(target: SourceVectorIndex): void {
  const { dimensions, sourceId } = target;
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > 2000)
    throw new Error(`vector dimensions must be an integer from 1 to 2000, got ${dimensions}`);
  if (!UUID.test(sourceId)) throw new Error(`not a source id: ${sourceId}`);
}

/** True when the source's index exists and is valid (a failed concurrent build leaves an invalid one). */
export async function vectorIndexExists(db: Database, target: SourceVectorIndex): Promise<boolean> {
  const rows = rowsOf<{ valid: boolean }>(
    await db.execute(sql`
      select i.indisvalid as valid from pg_class c join pg_index i on i.indexrelid = c.oid
      where c.relname = ${vectorIndexName(target)}`),
  );
  return rows[0]?.valid === true;
}

/** The default of VECTOR_INDEX_MIN_CHUNKS (lib/config/schema.ts). */
export const DEFAULT_VECTOR_INDEX_MIN_CHUNKS = 20_000;

/**
 * The source's chunks of the space, counted up to `cap` (at most `cap` rows read through the
 * source index, not a count of the whole source).
 */
export async function chunksInSpace(
  db: Database,
  target: SourceVectorIndex,
  cap: number,
): Promise<number> {
  const [row] = rowsOf<{ n: number }>(
    await db.execute(sql`
      select count(*)::int as n from (
        select 1 from chunks
        where source_id = ${target.sourceId} and embedding_space = ${target.space}
        limit ${Math.max(1, Math.trunc(cap))}) c`),
  );
  return Number(row?.n ?? 0);
}

/**
 * Sources that have at least `minChunks` (at least 1) chunks of the space but no (valid)
 * index for them. Smaller sources are searched exactly by design: not missing. Each source's
 * index is looked up in the catalogue first; only a source without one reads its chunks, at
 * most `minChunks` rows through the source index (health probes call this: a join of sources
 * with chunks by space read every chunk of the space, 290 ms at 100,000 chunks —
 * bench/console-profile.ts).
 */
export async function sourcesMissingVectorIndex(
  db: Database,
  target: EmbeddingSpace,
  minChunks = 0,
): Promise<string[]> {
  const cap = Math.max(1, minChunks);
  const sources = rowsOf<{ id: string }>(await db.execute(sql`select id from sources`));
  const missing: string[] = [];
  for (const { id } of sources) {
    const source = { ...target, sourceId: id };
    if (await vectorIndexExists(db, source)) continue;
    if ((await chunksInSpace(db, source, cap)) < cap) continue;
    missing.push(id);
  }
  return missing;
}

/**
 * HNSW build parameters. m = 16 is pgvector's default; ef_construction = 40 (default 64)
 * builds about 30% faster. Measured on the bench's 103,646 chunks (local embedder), recall@10
 * against exact search was the same for 40 and 64 at every ef_search tried (0.49 at 100):
 * the search-time ef_search (SEARCH_EF_SEARCH), not the build, is the lever.
 */
export const HNSW_M = 16;
export const HNSW_EF_CONSTRUCTION = 40;

export interface IndexBuildOptions {
  /**
   * maintenance_work_mem for the build. pgvector builds far faster while the graph fits in
   * it (PGlite's default of 64 MB holds about 40,000 chunks of 256 dimensions). Set for the
   * embedded database, whose memory is this process's; a server keeps its own setting.
   */
  maintenanceWorkMem?: string;
  /**
   * CREATE INDEX CONCURRENTLY: on a shared Postgres a plain build locks chunks against
   * writes, which would stall every other source's sync for the build's duration. Not for the
   * embedded database (one connection: nothing else could write meanwhile).
   */
  concurrently?: boolean;
  /**
   * VECTOR_INDEX_MIN_CHUNKS: a source with fewer chunks of the space gets no index (its
   * search is exact), and one under half of it loses the index it had. 0 or unset: always.
   */
  minChunks?: number;
}

/**
 * Creates the source's index for the space if it is missing (or invalid) and the source has
 * at least `minChunks` chunks of it; drops it under half of that. Idempotent. True when built.
 */
export async function ensureVectorIndex(
  db: Database,
  target: SourceVectorIndex,
  options: IndexBuildOptions = {},
): Promise<boolean> {
  assertTarget(target);
  const minChunks = Math.max(0, Math.trunc(options.minChunks ?? 0));
  const drop = () => db.execute(sql.raw(`drop index if exists "${vectorIndexName(target)}"`));
  // The catalogue first: a source that has its index only needs to know whether it shrank
  // under half the threshold, counted up to that (after every sync of a large source: half
  // the rows read, and no read at all without a threshold).
  if (await vectorIndexExists(db, target)) {
    if (minChunks > 1) {
      const half = Math.ceil(minChunks / 2);
      if ((await chunksInSpace(db, target, half)) < half) await drop();
    }
    return false;
  }
  if (minChunks > 1) {
    const chunks = await chunksInSpace(db, target, minChunks);
    if (chunks < minChunks) {
      // Too small for one; an invalid index a failed build left goes under half, as a valid one would.
      if (chunks < minChunks / 2) await drop();
      return false;
    }
  }
  const name = vectorIndexName(target);
  const spaceLiteral = target.space.replace(/'/g, "''");
  const memory = options.maintenanceWorkMem;
  if (memory !== undefined && !/^\d+(kB|MB|GB)$/.test(memory))
    throw new Error(`maintenance_work_mem must look like 256MB, got ${memory}`);
  const create = `create index ${options.concurrently ? "concurrently " : ""}"${name}" on chunks using hnsw ((embedding::vector(${target.dimensions})) vector_cosine_ops) with (m = ${HNSW_M}, ef_construction = ${HNSW_EF_CONSTRUCTION}) where embedding_space = '${spaceLiteral}' and source_id = '${target.sourceId}'`;
  // An invalid index left by a failed concurrent build is replaced.
  await db.execute(sql.raw(`drop index if exists "${name}"`));
  if (options.concurrently) {
    // Not in a transaction (CONCURRENTLY refuses one); the setting lasts for this session.
    if (memory) await db.execute(sql.raw(`set maintenance_work_mem = '${memory}'`));
    await db.execute(sql.raw(create));
  } else {
    await db.transaction(async (tx) => {
      if (memory) await tx.execute(sql.raw(`set local maintenance_work_mem = '${memory}'`));
      await tx.execute(sql.raw(create));
    });
  }
  return true;
}

/**
 * Drops the source's index before a bulk load of that source (inserting into a live HNSW
 * graph is far slower than building it once). Other sources' indexes are untouched. The
 * per-space index of earlier versions goes too (every insert would pay for it); the sources
 * it served get their own at the end of this run (ensureSpaceVectorIndexes).
 */
export async function dropVectorIndex(db: Database, target: SourceVectorIndex): Promise<void> {
  assertTarget(target);
  await db.execute(sql.raw(`drop index if exists "${vectorIndexName(target)}"`));
  await db.execute(sql.raw(`drop index if exists "${legacyVectorIndexName(target.space)}"`));
}

/** True when the per-space index of earlier versions is still there (a database not yet upgraded). */
export async function legacyVectorIndexExists(db: Database, space: string): Promise<boolean> {
  const rows = rowsOf<{ n: number }>(
    await db.execute(
      sql`select count(*)::int as n from pg_class where relname = ${legacyVectorIndexName(space)}`,
    ),
  );
  return Number(rows[0]?.n ?? 0) > 0;
}

/**
 * After a sync of one source: that source's index brought to its state (built, kept or
 * dropped), and no other source read — their chunks did not change. All sources are brought
 * to theirs only where the per-space index of earlier versions may have served them: still
 * there (a database not yet upgraded), or dropped by this run's bulk load (`bulkLoad`; such a
 * run costs a minute or more, the other sources' catalogue checks and counts a fraction of a
 * second). Returns the sources indexed.
 */
export async function ensureSourceVectorIndexAfterSync(
  db: Database,
  target: SourceVectorIndex,
  options: IndexBuildOptions & { bulkLoad: boolean },
): Promise<string[]> {
  if (options.bulkLoad || (await legacyVectorIndexExists(db, target.space)))
    return ensureSpaceVectorIndexes(db, target, options);
  return (await ensureVectorIndex(db, target, options)) ? [target.sourceId] : [];
}

/**
 * Brings every source of the space to its index state: built where it lacks one and has at
 * least `options.minChunks` chunks (after a sync, normally only the synced source's: its bulk
 * load dropped it, or the sync took it over the threshold; once, after an upgrade, the
 * others' too), dropped where the source shrank under half the threshold. Then the per-space
 * index of earlier versions is dropped. Returns the sources indexed.
 */
export async function ensureSpaceVectorIndexes(
  db: Database,
  target: EmbeddingSpace,
  options: IndexBuildOptions = {},
): Promise<string[]> {
  const sources = rowsOf<{ id: string }>(
    await db.execute(sql`
      select s.id from sources s
      where exists (select 1 from chunks c where c.source_id = s.id and c.embedding_space = ${target.space})
      order by s.id`),
  );
  const built: string[] = [];
  for (const { id } of sources)
    if (await ensureVectorIndex(db, { ...target, sourceId: id }, options)) built.push(id);
  await db.execute(sql.raw(`drop index if exists "${legacyVectorIndexName(target.space)}"`));
  return built;
}
