import { sql } from "drizzle-orm";
import { type Database, rowsOf } from "../../db/client";
import { addSource } from "../../lib/pipeline/source-records";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import type { TestRuntime } from "./runtime";

export interface IndexSnapshot {
  documents: string[];
  chunks: string[];
  /** Lexical document frequencies kept by the writes: `term df`, and the chunk count. */
  terms: string[];
  lexicalChunks: number;
}

/**
 * What a source's index holds, independent of ids: documents by path and content hash, and
 * chunks by path, position, content hash and vector. Two sources synced from the same
 * commit must have equal snapshots.
 */
export async function snapshotIndex(db: Database, sourceId: string): Promise<IndexSnapshot> {
  const documents = rowsOf<{ row: string }>(
    await db.execute(sql`
      select path || ' ' || content_hash || ' ' || config_hash || ' ' || chunk_count || ' ' || line_count as row
      from documents where source_id = ${sourceId} order by path`),
  ).map((r) => r.row);
  const chunks = rowsOf<{ row: string }>(
    await db.execute(sql`
      select path || ':' || ordinal || ':' || start_line || '-' || end_line || ' ' || content_hash || ' ' || md5(embedding::text) || ' ' || md5(lexemes::text) as row
      from chunks where source_id = ${sourceId} order by path, ordinal`),
  ).map((r) => r.row);
  const terms = rowsOf<{ row: string }>(
    await db.execute(sql`
      select term || ' ' || df as row from lexical_terms where source_id = ${sourceId} and df <> 0 order by term`),
  ).map((r) => r.row);
  const [count] = rowsOf<{ n: number }>(
    await db.execute(
      sql`select coalesce(sum(chunks), 0)::int as n from lexical_sources where source_id = ${sourceId}`,
    ),
  );
  return { documents, chunks, terms, lexicalChunks: Number(count?.n ?? 0) };
}

let freshCounter = 0;

/** Syncs the same repository from scratch into a new source and returns its snapshot. */
export async function freshFullSyncSnapshot(
  rt: TestRuntime,
  repoDir: string,
): Promise<IndexSnapshot> {
  freshCounter++;
  const source = await addSource(rt.db, {
    kind: "git",
    location: repoDir,
    name: `fresh-${freshCounter}`,
  });
  const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
  if (run.status !== "succeeded")
    throw new Error(`fresh sync ended ${run.status}: ${run.error ?? ""}`);
  return snapshotIndex(rt.db, source.id);
}
