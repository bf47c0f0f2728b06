import { sql } from "drizzle-orm";
import type { PgDialect } from "drizzle-orm/pg-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../../db/client";
import { checkHealth } from "../../lib/health/check";
import { searchChunks } from "../../lib/index/search";
import {
  legacyVectorIndexName,
  sourcesMissingVectorIndex,
  vectorIndexName,
} from "../../lib/index/vector-index";
import { addSource, type SourceRecord } from "../../lib/pipeline/source-records";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { createTestRepo, removeTempDirs, type TestRepo } from "../support/git-repo";
import { freshFullSyncSnapshot, snapshotIndex } from "../support/index-snapshot";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

function module(name: string, n: number): string {
  return Array.from(
    { length: n },
    (_, i) =>
      `export function ${name}Step${i}(input: number): number {\n  return input * ${i + 2} + ${name.length};\n}\n`,
  ).join("\n");
}

/** Indexing cost follows the change: one HNSW index per (space, source). */
describe("per-source vector indexes", () => {
  let rt: TestRuntime;
  let alpha: SourceRecord;
  let beta: SourceRecord;
  let betaGit: TestRepo;
  const indexOid = async (source: SourceRecord) => {
    const name = vectorIndexName({
      space: rt.embedder.space,
      dimensions: rt.embedder.dimensions,
      sourceId: source.id,
    });
    const [row] = rowsOf<{ oid: number }>(
      await rt.db.execute(sql`select oid::int as oid from pg_class where relname = ${name}`),
    );
    return row?.oid ?? null;
  };

  beforeAll(async () => {
    // Every source indexed, however small (vector-index-threshold.test.ts covers the threshold).
    rt = await createTestRuntime({ VECTOR_INDEX_MIN_CHUNKS: "0" });
    const a = await createTestRepo();
    await a.writeMany({
      "src/alpha.ts": module("alpha", 30),
      "src/shared.ts": module("ledger", 5),
    });
    await a.commit("alpha");
    const b = await createTestRepo();
    betaGit = b;
    const files: Record<string, string> = {};
    for (let i = 0; i < 12; i++) files[`src/beta${i}.ts`] = module(`beta${i}`, 8);
    await b.writeMany(files);
    await b.commit("beta");
    alpha = await addSource(rt.db, { kind: "git", location: a.dir, name: "alpha" });
    beta = await addSource(rt.db, { kind: "git", location: b.dir, name: "beta" });
  });
  afterAll(async () => {
    await rt.close();
    await removeTempDirs();
  });

  it("adding a source in bulk builds its own index and leaves the others' alone", async () => {
    // An index of the earlier per-space kind, as an upgraded database would have.
    await rt.db.execute(
      sql.raw(
        `create index "${legacyVectorIndexName(rt.embedder.space)}" on chunks using hnsw ((embedding::vector(${rt.embedder.dimensions})) vector_cosine_ops) where embedding_space = '${rt.embedder.space}'`,
      ),
    );
    expect((await syncSourceLocally(rt.deps, { sourceId: alpha.id, mode: "full" })).status).toBe(
      "succeeded",
    );
    const alphaIndex = await indexOid(alpha);
    expect(alphaIndex).not.toBeNull();

    const bulk = { ...rt.deps, bulkLoadMinDocuments: 5 };
    const run = await syncSourceLocally(bulk, { sourceId: beta.id, mode: "full" });
    expect(run.status).toBe("succeeded");
    expect(run.bulkLoad).toBe(true);
    expect(await indexOid(beta)).not.toBeNull();
    // The bulk load's document frequencies were merged at the end: the same as a sync that
    // wrote them batch by batch.
    const pending = rowsOf<{ n: number }>(
      await rt.db.execute(sql`select count(*)::int as n from lexical_pending`),
    );
    expect(pending[0]?.n).toBe(0);
    const bulkSnapshot = await snapshotIndex(rt.db, beta.id);
    expect(bulkSnapshot.terms.length).toBeGreaterThan(0);
    expect(bulkSnapshot).toEqual(await freshFullSyncSnapshot(rt, betaGit.dir));
    expect(await indexOid(alpha)).toBe(alphaIndex); // not rebuilt, not dropped
    // The per-space index is gone: every source has its own.
    const [legacy] = rowsOf<{ n: number }>(
      await rt.db.execute(
        sql`select count(*)::int as n from pg_class where relname = ${legacyVectorIndexName(rt.embedder.space)}`,
      ),
    );
    expect(legacy?.n).toBe(0);
    expect(await sourcesMissingVectorIndex(rt.db, rt.embedder)).toEqual([]);

    // A full re-sync of beta in bulk rebuilds beta's index only.
    const betaIndex = await indexOid(beta);
    await rt.db.execute(sql`delete from documents where source_id = ${beta.id}`);
    const again = await syncSourceLocally(bulk, { sourceId: beta.id, mode: "full" });
    expect(again.bulkLoad).toBe(true);
    expect(await indexOid(beta)).not.toBe(betaIndex);
    expect(await indexOid(alpha)).toBe(alphaIndex);
  });

  it("search reads every source's index, and a source's own index with a source filter", async () => {
    const all = await searchChunks(rt.db, rt.embedder, {
      query: "beta3 step",
      k: 10,
      mode: "vector",
    });
    expect(new Set(all.map((h) => h.source))).toContain("beta");
    const onlyAlpha = await searchChunks(rt.db, rt.embedder, {
      query: "beta3 step",
      k: 5,
      sourceId: alpha.id,
    });
    const [alphaChunks] = rowsOf<{ n: number }>(
      await rt.db.execute(sql`select count(*)::int as n from chunks where source_id = ${alpha.id}`),
    );
    expect(onlyAlpha.length).toBe(Math.min(5, alphaChunks?.n ?? 0));
    expect(onlyAlpha.every((h) => h.source === "alpha")).toBe(true);
    const plan = rowsOf<{ "QUERY PLAN": string }>(
      await rt.db.execute(
        sql.raw(`explain select id from chunks c where c.embedding_space = '${rt.embedder.space}' and c.source_id = '${beta.id}'
          order by c.embedding::vector(${rt.embedder.dimensions}) <=> (select embedding from chunks limit 1)::vector(${rt.embedder.dimensions}) limit 10`),
      ),
    )
      .map((r) => r["QUERY PLAN"])
      .join("\n");
    expect(plan).toContain(
      vectorIndexName({
        space: rt.embedder.space,
        dimensions: rt.embedder.dimensions,
        sourceId: beta.id,
      }),
    );
  });

  it("health reports sources without an index as degraded", async () => {
    await rt.db.execute(
      sql.raw(
        `drop index "${vectorIndexName({ space: rt.embedder.space, dimensions: rt.embedder.dimensions, sourceId: alpha.id })}"`,
      ),
    );
    expect(await sourcesMissingVectorIndex(rt.db, rt.embedder)).toEqual([alpha.id]);
    const health = await checkHealth(rt);
    expect(health.parts.database?.status).toBe("degraded");
    expect(health.parts.database?.detail).toMatch(/1 source\(s\) without a vector index/);
    // Still searchable meanwhile (exactly).
    const hits = await searchChunks(rt.db, rt.embedder, {
      query: "alpha step",
      k: 3,
      sourceId: alpha.id,
    });
    expect(hits.length).toBe(3);
  });

  it("a sync of one source reads no other source's index state: each is kept at its own sync", async () => {
    // alpha has no index (the test above dropped it). An incremental sync of beta neither
    // reads alpha's chunks nor builds alpha's index; alpha's own next sync does.
    await betaGit.writeMany({ "src/beta0.ts": module("betaZero", 9) });
    await betaGit.commit("beta edit");
    // Every statement the sync runs through db.execute, as sent (text and parameters).
    const statements: string[] = [];
    const dialect = (rt.db as unknown as { dialect: PgDialect }).dialect;
    const counting = new Proxy(rt.db, {
      get(target, key, receiver) {
        if (key !== "execute") return Reflect.get(target, key, receiver);
        return (query: Parameters<typeof target.execute>[0]) => {
          const { sql: text, params } = dialect.sqlToQuery(
            typeof query === "string" ? sql.raw(query) : query.getSQL(),
          );
          statements.push(`${text} ${JSON.stringify(params)}`);
          return target.execute(query);
        };
      },
    });
    const beta2 = await syncSourceLocally(
      { ...rt.deps, db: counting },
      { sourceId: beta.id, mode: "incremental" },
    );
    expect(beta2.error).toBeNull();
    expect(beta2.status).toBe("succeeded");
    expect(beta2.bulkLoad).toBe(false);
    expect(beta2.processed).toBe(1);
    expect(await indexOid(alpha)).toBeNull();
    expect(statements.length).toBeGreaterThan(0);
    expect(statements.some((s) => s.includes(alpha.id))).toBe(false);
    expect(await sourcesMissingVectorIndex(rt.db, rt.embedder)).toEqual([alpha.id]);

    const alpha2 = await syncSourceLocally(rt.deps, { sourceId: alpha.id, mode: "incremental" });
    expect(alpha2.status).toBe("succeeded");
    expect(await indexOid(alpha)).not.toBeNull();
    expect(await sourcesMissingVectorIndex(rt.db, rt.embedder)).toEqual([]);
  });
});
