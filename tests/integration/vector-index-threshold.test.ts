import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../../db/client";
import { loadConfig } from "../../lib/config";
import { checkHealth } from "../../lib/health/check";
import { searchChunks } from "../../lib/index/search";
import {
  sourcesMissingVectorIndex,
  vectorIndexExists,
  vectorIndexName,
} from "../../lib/index/vector-index";
import { vectorLiteral } from "../../lib/index/write";
import { addSource, type SourceRecord } from "../../lib/pipeline/source-records";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { createTestRepo, removeTempDirs, type TestRepo } from "../support/git-repo";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

/**
 * VECTOR_INDEX_MIN_CHUNKS: a source below it has no vector index and is searched exactly; the
 * sync that takes it over the threshold builds its index; one that shrinks it under half of
 * the threshold drops it. Search returns the exact nearest chunks on both sides.
 */

const THRESHOLD = 30;

/** One file of about 1,200 characters (one chunk), with words of its own. */
function file(i: number): string {
  return Array.from(
    { length: 12 },
    (_, j) =>
      `export function unit${i}Step${j}(input: number): number {\n  return input * ${j + 2} + ${i};\n}\n`,
  ).join("\n");
}

describe("vector index threshold (VECTOR_INDEX_MIN_CHUNKS)", () => {
  let rt: TestRuntime;
  let repo: TestRepo;
  let source: SourceRecord;
  const target = () => ({
    space: rt.embedder.space,
    dimensions: rt.embedder.dimensions,
    sourceId: source.id,
  });
  const chunkCount = async () => {
    const [row] = rowsOf<{ n: number }>(
      await rt.db.execute(
        sql`select count(*)::int as n from chunks where source_id = ${source.id}`,
      ),
    );
    return row?.n ?? 0;
  };
  const sync = async () => {
    const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "incremental" });
    expect(run.status).toBe("succeeded");
    return run;
  };
  /** The exact top k by cosine (sequential scan, indexes off). */
  const exactTop = async (query: string, k: number) => {
    const vector = vectorLiteral(await rt.embedder.embedQuery(query));
    const dims = sql.raw(String(rt.embedder.dimensions));
    return rt.db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_indexscan = off`);
      await tx.execute(sql`set local enable_bitmapscan = off`);
      return rowsOf<{ id: string; similarity: number }>(
        await tx.execute(sql`
          select id, 1 - (embedding::vector(${dims}) <=> ${vector}::vector(${dims})) as similarity
          from chunks where source_id = ${source.id}
          order by embedding::vector(${dims}) <=> ${vector}::vector(${dims}), id limit ${k}`),
      ).map((r) => ({ id: r.id, similarity: Math.round(Number(r.similarity) * 1e4) / 1e4 }));
    });
  };
  /** Vector-mode search matches exact search: the same similarities, rank by rank. */
  const expectExactResults = async () => {
    for (const query of ["unit3 step", "unit17Step4 input", "return input number"]) {
      const hits = await searchChunks(rt.db, rt.embedder, {
        query,
        k: 5,
        mode: "vector",
        sourceId: source.id,
      });
      const exact = await exactTop(query, 5);
      expect(hits.map((h) => h.similarity)).toEqual(exact.map((r) => r.similarity));
      expect(hits.map((h) => h.chunkId).sort()).toEqual(exact.map((r) => r.id).sort());
    }
  };
  const plan = async () =>
    rowsOf<{ "QUERY PLAN": string }>(
      await rt.db.execute(
        sql.raw(`explain select id from chunks c where c.embedding_space = '${rt.embedder.space}' and c.source_id = '${source.id}'
          order by c.embedding::vector(${rt.embedder.dimensions}) <=> (select embedding from chunks limit 1)::vector(${rt.embedder.dimensions}) limit 10`),
      ),
    )
      .map((r) => r["QUERY PLAN"])
      .join("\n");

  beforeAll(async () => {
    rt = await createTestRuntime({ VECTOR_INDEX_MIN_CHUNKS: String(THRESHOLD) });
    repo = await createTestRepo();
    source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "threshold" });
  });
  afterAll(async () => {
    await rt.close();
    await removeTempDirs();
  });

  it("reads the threshold from the configuration and refuses a bad one", () => {
    expect(rt.config.search.vectorIndexMinChunks).toBe(THRESHOLD);
    const base = { BALLAST_ENV: "test", PGLITE_DIR: "memory://" };
    expect(loadConfig(base).search.vectorIndexMinChunks).toBe(20_000);
    expect(() => loadConfig({ ...base, VECTOR_INDEX_MIN_CHUNKS: "-1" })).toThrow(
      /VECTOR_INDEX_MIN_CHUNKS/,
    );
    expect(() => loadConfig({ ...base, VECTOR_INDEX_MIN_CHUNKS: "lots" })).toThrow(
      /VECTOR_INDEX_MIN_CHUNKS/,
    );
  });

  it("below the threshold: no index, exact search, health not degraded", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 20; i++) files[`src/unit${i}.ts`] = file(i);
    await repo.writeMany(files);
    await repo.commit("twenty units");
    await sync();
    const chunks = await chunkCount();
    expect(chunks).toBeGreaterThanOrEqual(THRESHOLD / 2);
    expect(chunks).toBeLessThan(THRESHOLD);

    expect(await vectorIndexExists(rt.db, target())).toBe(false);
    expect(await plan()).not.toContain(vectorIndexName(target()));
    expect(await sourcesMissingVectorIndex(rt.db, rt.embedder, THRESHOLD)).toEqual([]);
    // Without the threshold the same source would count as missing its index.
    expect(await sourcesMissingVectorIndex(rt.db, rt.embedder, 0)).toEqual([source.id]);
    const health = await checkHealth(rt);
    expect(health.parts.database?.detail ?? "").not.toMatch(/without a vector index/);
    await expectExactResults();
  });

  it("the sync that crosses the threshold builds the index; results stay exact", async () => {
    const files: Record<string, string> = {};
    for (let i = 20; i < 40; i++) files[`src/unit${i}.ts`] = file(i);
    await repo.writeMany(files);
    await repo.commit("forty units");
    const run = await sync();
    expect(run.bulkLoad).toBe(false);
    expect(await chunkCount()).toBeGreaterThanOrEqual(THRESHOLD);

    expect(await vectorIndexExists(rt.db, target())).toBe(true);
    expect(await plan()).toContain(vectorIndexName(target()));
    expect(await sourcesMissingVectorIndex(rt.db, rt.embedder, THRESHOLD)).toEqual([]);
    await expectExactResults();
  });

  it("keeps the index down to half the threshold, drops it below", async () => {
    const oid = async () =>
      rowsOf<{ oid: number }>(
        await rt.db.execute(
          sql`select oid::int as oid from pg_class where relname = ${vectorIndexName(target())}`,
        ),
      )[0]?.oid ?? null;
    const before = await oid();
    for (let i = 20; i < 40; i++) await repo.remove(`src/unit${i}.ts`);
    await repo.commit("back to twenty");
    await sync();
    const chunks = await chunkCount();
    expect(chunks).toBeLessThan(THRESHOLD);
    expect(chunks).toBeGreaterThanOrEqual(THRESHOLD / 2);
    expect(await oid()).toBe(before); // neither dropped nor rebuilt
    await expectExactResults();

    for (let i = 8; i < 20; i++) await repo.remove(`src/unit${i}.ts`);
    await repo.commit("eight units");
    await sync();
    expect(await chunkCount()).toBeLessThan(THRESHOLD / 2);
    expect(await vectorIndexExists(rt.db, target())).toBe(false);
    expect(await oid()).toBeNull();
    await expectExactResults();
  });
});
