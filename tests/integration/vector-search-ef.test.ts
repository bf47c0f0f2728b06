import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../../db/client";
import { searchChunks } from "../../lib/index/search";
import { ensureVectorIndex } from "../../lib/index/vector-index";
import { type ChunkRow, insertChunks, upsertDocuments, vectorLiteral } from "../../lib/index/write";
import { addSource } from "../../lib/pipeline/source-records";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

/**
 * The vector side sets hnsw.ef_search inside its one statement (set_config, local to that
 * statement's transaction) instead of a transaction of four round trips. These tests show the
 * setting reaches the HNSW scan (recall against exact search follows it) and ends with the
 * statement.
 */

const CHUNKS = 3000;

/** A deterministic stream of numbers (xorshift), for texts of pseudo-words. */
function numbers(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

function text(next: () => number, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(`w${Math.floor(next() * 500)}`);
  return out.join(" ");
}

describe("vector search: ef_search in one statement", () => {
  let rt: TestRuntime;
  let sourceId: string;
  const queries: string[] = [];

  beforeAll(async () => {
    rt = await createTestRuntime();
    const source = await addSource(rt.db, {
      name: "vectors",
      kind: "git",
      location: "/nonexistent/vectors",
    });
    sourceId = source.id;
    const ids = await upsertDocuments(rt.db, [
      {
        sourceId,
        path: "words.txt",
        blobSha: null,
        contentHash: "h",
        configHash: "c",
        commitSha: null,
        language: null,
        byteSize: 1,
        lineCount: 1,
        chunkCount: CHUNKS,
        lossy: false,
      },
    ]);
    const documentId = ids.get("words.txt") as string;
    const next = numbers(12345);
    const contents = Array.from({ length: CHUNKS }, () => text(next, 40));
    const { vectors } = await rt.embedder.embedDocuments(contents);
    const rows: ChunkRow[] = contents.map((content, i) => ({
      id: `chunk-${i}`,
      documentId,
      sourceId,
      path: "words.txt",
      ordinal: i,
      startLine: i + 1,
      endLine: i + 1,
      kind: "text",
      heading: null,
      content,
      contentHash: `hash-${i}`,
      tokenCount: 40,
      embeddingSpace: rt.embedder.space,
      dims: rt.embedder.dimensions,
      embedding: vectorLiteral(vectors[i] as Float32Array),
      // No lexemes: the vector side alone decides (no lexical candidates join it).
      lexemes: "",
      lexemeList: [],
    }));
    await insertChunks(rt.db, rows);
    await ensureVectorIndex(rt.db, {
      space: rt.embedder.space,
      dimensions: rt.embedder.dimensions,
      sourceId,
    });
    for (let i = 0; i < 20; i++) queries.push(text(next, 12));
  }, 180_000);

  afterAll(async () => {
    await rt?.close();
  });

  async function exactTop10(query: string): Promise<string[]> {
    const vector = vectorLiteral(await rt.embedder.embedQuery(query));
    const dims = sql.raw(String(rt.embedder.dimensions));
    return rt.db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_indexscan = off`);
      await tx.execute(sql`set local enable_bitmapscan = off`);
      return rowsOf<{ id: string }>(
        await tx.execute(sql`
          select id from chunks order by embedding::vector(${dims}) <=> ${vector}::vector(${dims}) limit 10`),
      ).map((r) => r.id);
    });
  }

  async function recall(efSearch: number): Promise<number> {
    let found = 0;
    let total = 0;
    for (const query of queries) {
      const exact = await exactTop10(query);
      const hits = await searchChunks(rt.db, rt.embedder, {
        query,
        k: 10,
        mode: "vector",
        efSearch,
      });
      const returned = new Set(hits.map((h) => h.chunkId));
      found += exact.filter((id) => returned.has(id)).length;
      total += exact.length;
    }
    return found / total;
  }

  it("the ef_search of the request reaches the index scan", async () => {
    const low = await recall(40);
    const high = await recall(1000);
    expect(high).toBeGreaterThanOrEqual(0.95);
    expect(high).toBeGreaterThan(low);
  }, 120_000);

  it("the setting ends with the statement", async () => {
    const before = rowsOf<{ ef: string }>(
      await rt.db.execute(sql`select current_setting('hnsw.ef_search') as ef`),
    )[0]?.ef;
    await searchChunks(rt.db, rt.embedder, {
      query: queries[0] as string,
      k: 10,
      mode: "vector",
      efSearch: 777,
    });
    const after = rowsOf<{ ef: string }>(
      await rt.db.execute(sql`select current_setting('hnsw.ef_search') as ef`),
    )[0]?.ef;
    expect(after).toBe(before);
    expect(after).not.toBe("777");
  });
});
