import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as searchGet } from "../../app/api/search/route";
import { rowsOf } from "../../db/client";
import { createApiKey } from "../../lib/auth/api-keys";
import { LABEL_WEIGHTS, lexemeQuery, PATH_PREFIX, PRESENCE_RANK } from "../../lib/index/lexical";
import { PATH_WEIGHT, type SearchHit, SYMBOL_WEIGHT, searchChunks } from "../../lib/index/search";
import { addSource, type SourceRecord } from "../../lib/pipeline/source-records";
import { setRuntime } from "../../lib/runtime";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { runCli } from "../support/cli";
import { createTestRepo, makeTempDir, removeTempDirs, type TestRepo } from "../support/git-repo";
import { freshFullSyncSnapshot, snapshotIndex } from "../support/index-snapshot";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

const RETRY = `/** Calls fn until it succeeds, waiting longer after each failure. */
export async function retryWithBackoff<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  let delay = 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay *= 2;
    }
  }
}
`;

// A test that names retryWithBackoff far more often than the definition does.
const RETRY_TEST = `import { retryWithBackoff } from "../src/retry";
test("retryWithBackoff retries", async () => {
  let calls = 0;
  await retryWithBackoff(async () => { calls++; if (calls < 3) throw new Error("retry"); });
  expect(calls).toBe(3); // retryWithBackoff retried twice
  await expect(retryWithBackoff(() => Promise.reject(new Error("retry")), 2)).rejects.toThrow();
  // retry backoff retry backoff
});
`;

const CACHE = `export class LruCache<V> {
  private readonly entries = new Map<string, V>();
  constructor(private readonly capacity: number) {}
  /** Evicts the least recently used entry when the cache is full. */
  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }
}
`;

describe("hybrid search", () => {
  let rt: TestRuntime;
  let repo: TestRepo;
  let source: SourceRecord;
  let viewer: string;

  beforeAll(async () => {
    rt = await createTestRuntime();
    setRuntime(rt);
    viewer = (await createApiKey(rt.db, { name: "reader", role: "viewer", createdBy: "test" })).key;
    repo = await createTestRepo();
    await repo.writeMany({
      "src/retry.ts": RETRY,
      "tests/retry.test.ts": RETRY_TEST,
      "src/cache.ts": CACHE,
      "docs/guide.md":
        "# Guide\n\nIntro.\n\n## Caching\n\nThe cache evicts entries it has not used for the longest time.\n",
    });
    await repo.commit("code");
    source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "demo" });
    const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
    expect(run.status).toBe("succeeded");
  });
  afterAll(async () => {
    setRuntime(undefined);
    await rt.close();
    await removeTempDirs();
  });

  const search = (query: string, mode?: "hybrid" | "lexical" | "vector") =>
    searchChunks(rt.db, rt.embedder, { query, k: 5, mode });

  it("ranks the definition above a test that mentions it more often, and says why", async () => {
    const hits = await search("retry with backoff");
    expect(hits[0]?.path).toBe("src/retry.ts");
    const why = (hits[0] as SearchHit).why;
    expect(why.symbolMatch).toEqual(expect.arrayContaining(["retri", "backoff"]));
    expect(why.pathMatch).toContain("retri");
    expect(why.lexical.rank).toBeLessThanOrEqual(2);
    expect(why.lexical.terms.length).toBeGreaterThan(0);
    for (const t of why.lexical.terms) {
      expect(t.idf).toBeGreaterThan(0);
      expect(t.weight).toBeGreaterThan(0);
    }
    expect(why.vector.similarity).toBeGreaterThan(0);
    expect(why.pathWeight).toBe(1);
    const test = hits.find((h) => h.path === "tests/retry.test.ts");
    expect(test?.why.pathWeight).toBe(0.5);
    // The low weight is configurable: without it, the test's own score is not reduced.
    const unweighted = await searchChunks(rt.db, rt.embedder, {
      query: "retry with backoff",
      k: 5,
      ranking: { lowWeightPaths: [] },
    });
    const plainTest = unweighted.find((h) => h.path === "tests/retry.test.ts");
    expect(plainTest?.why.pathWeight).toBe(1);
    expect(plainTest?.score).toBeGreaterThan(test?.score ?? 1);
  });

  it("weighs a path or symbol term found without ts_rank exactly as ts_rank would", async () => {
    // Path and symbol lexemes have one position, label D: their rank is a constant, so their
    // postings are read without decompressing the tsvector. The explanation's weights must be
    // what ts_rank would have given (idf × field weight, through the same float4 value).
    const [row] = rowsOf<{ same: boolean }>(
      await rt.db.execute(
        sql`select ts_rank(${sql.raw(`'{${LABEL_WEIGHTS.join(",")}}'::float4[]`)}, lexemes, ${lexemeQuery(`${PATH_PREFIX}retri`)}::tsquery, 0)
                   = ${sql.raw(`${PRESENCE_RANK}::float4`)} as same
            from chunks where path = 'src/retry.ts' limit 1`,
      ),
    );
    expect(row?.same).toBe(true);
    const hits = await search("retry cache");
    const retry = hits.find((h) => h.path === "src/retry.ts");
    const pathTerm = retry?.why.lexical.terms.find((t) => t.field === "path" && t.term === "retri");
    expect(pathTerm).toBeDefined();
    expect(pathTerm?.weight).toBeCloseTo((pathTerm?.idf ?? 0) * PATH_WEIGHT, 3);
    const symbolTerm = retry?.why.lexical.terms.find((t) => t.field === "symbol");
    expect(symbolTerm?.weight).toBeCloseTo((symbolTerm?.idf ?? 0) * SYMBOL_WEIGHT, 3);
  });

  it("finds words in other forms (stems) and identifier parts", async () => {
    const hits = await search("evicting least recently used entries", "lexical");
    expect(hits[0]?.path).toBe("src/cache.ts");
    const terms = hits[0]?.why.lexical.terms.map((t) => t.term) ?? [];
    expect(terms).toEqual(expect.arrayContaining(["evict", "entri"]));
    // The whole identifier counts too.
    const byName = await search("LruCache", "lexical");
    expect(byName[0]?.path).toBe("src/cache.ts");
    expect(byName[0]?.why.lexical.terms.some((t) => t.term === "lrucache")).toBe(true);
  });

  it("lexical, vector and hybrid modes each rank on their own evidence", async () => {
    const lexical = await search("cache evicts entries", "lexical");
    const vector = await search("cache evicts entries", "vector");
    expect(lexical.every((h) => h.lexicalScore > 0)).toBe(true);
    expect(lexical.map((h) => h.score)).toEqual(lexical.map((h) => h.why.fused * h.why.pathWeight));
    const sims = vector.map((h) => h.similarity ?? -1);
    expect([...sims].sort((a, b) => b - a)).toEqual(sims);
    // A query with no indexed word still gets vector results, and no lexical ones.
    expect(await search("zzzqqq", "lexical")).toEqual([]);
    expect((await search("zzzqqq", "hybrid")).length).toBeGreaterThan(0);
  });

  it("the API returns the explanation and rejects an unknown mode", async () => {
    const get = (qs: string) =>
      searchGet(
        new Request(`http://localhost/api/search?${qs}`, {
          headers: { authorization: `Bearer ${viewer}` },
        }),
      );
    const ok = await get("q=retry%20with%20backoff&k=2&mode=lexical");
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { mode: string; results: SearchHit[] };
    expect(body.mode).toBe("lexical");
    expect(body.results[0]?.why.lexical.terms.length).toBeGreaterThan(0);
    const bad = await get("q=retry&mode=semantic");
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/mode/);
  });

  it("keeps document frequencies exact through edits, deletions and heading changes", async () => {
    // The Caching section keeps its text but its parent heading changes (a moved chunk whose
    // symbol terms change); retry.ts is edited; the test file is deleted.
    await repo.write(
      "docs/guide.md",
      "# Handbook\n\nIntro.\n\n## Caching\n\nThe cache evicts entries it has not used for the longest time.\n",
    );
    await repo.write("src/retry.ts", RETRY.replace("delay *= 2", "delay *= 3"));
    await repo.remove("tests/retry.test.ts");
    await repo.commit("edit");
    const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "incremental" });
    expect(run.status).toBe("succeeded");
    const snapshot = await snapshotIndex(rt.db, source.id);
    expect(snapshot.terms.some((t) => t.startsWith("h:handbook "))).toBe(true);
    expect(snapshot.terms.some((t) => t.startsWith("h:guid "))).toBe(false);
    expect(snapshot).toEqual(await freshFullSyncSnapshot(rt, repo.dir));
  });

  it("ballast search --explain prints why each result matched; a bad --mode is refused", async () => {
    const dataDir = await makeTempDir();
    const env = { dataDir, env: { LOG_LEVEL: "warn" } };
    expect((await runCli(["sync", repo.dir], env)).code).toBe(0);
    const result = await runCli(["search", "retry with backoff", "-k", "2", "--explain"], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/1\. .*src\/retry\.ts/);
    expect(result.stdout).toMatch(/why: lexical [\d.]+ \(#1\) = .*symbol:retri/);
    expect(result.stdout).toMatch(/vector similarity 0\.\d+/);
    const bad = await runCli(["search", "retry", "--mode", "semantic"], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/mode must be one of hybrid, lexical, vector/);
  });
});
