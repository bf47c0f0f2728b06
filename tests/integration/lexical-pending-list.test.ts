import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../../db/client";
import { LEXICAL_INDEX, mergeLexicalPendingList } from "../../lib/index/lexical-index";
import { searchChunks } from "../../lib/index/search";
import { addSource } from "../../lib/pipeline/source-records";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { createTestRepo, removeTempDirs } from "../support/git-repo";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

/**
 * The lexical GIN index's pending list: what a sync's inserts leave there is merged when the
 * sync completes, so searches do not scan it; merging twice finds nothing the second time.
 */
describe("lexical index pending list", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime();
  });
  afterAll(async () => {
    await rt.close();
    await removeTempDirs();
  });

  /** Pages the pending list holds now (merging them: the call empties it). */
  const pendingPages = async () =>
    Number(
      rowsOf<{ pages: number }>(
        await rt.db.execute(
          sql`select gin_clean_pending_list(${LEXICAL_INDEX}::regclass) as pages`,
        ),
      )[0]?.pages,
    );

  it("is empty after a full and an incremental sync, and searches still find the new text", async () => {
    const repo = await createTestRepo();
    const files: Record<string, string> = {};
    for (let i = 0; i < 60; i++)
      files[`src/module-${i}.ts`] = Array.from(
        { length: 40 },
        (_, j) =>
          `export function handleWidget${i}Event${j}(payload: Frame${j}) { return route${i}(payload); }`,
      ).join("\n");
    await repo.writeMany(files);
    await repo.commit("files");
    const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "pending" });

    // Without the merge, inserts leave entries there: the list is what the sync must merge.
    await rt.db.execute(
      sql`insert into documents (source_id, path, content_hash, config_hash, byte_size, line_count, chunk_count, lossy, indexed_at)
          values (${source.id}, 'probe.ts', 'h', 'c', 1, 1, 1, false, now())`,
    );
    await rt.db.execute(sql`
      insert into chunks (id, document_id, source_id, path, ordinal, start_line, end_line, kind, content, content_hash, token_count, embedding_space, dims, embedding, lexemes)
      select 'probe', d.id, d.source_id, d.path, 0, 1, 1, 'code', 'probe', 'h', 1, ${rt.embedder.space}, ${rt.embedder.dimensions},
             (select array_fill(0.1, array[${rt.embedder.dimensions}::int])::vector), 'probe:1 pendingprobe:1'::tsvector
      from documents d where d.source_id = ${source.id} and d.path = 'probe.ts'`);
    expect(await pendingPages()).toBeGreaterThan(0);
    expect(await mergeLexicalPendingList(rt.db)).toBe(0); // already merged just above
    await rt.db.execute(sql`delete from documents where source_id = ${source.id}`);

    const full = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
    expect(full.status).toBe("succeeded");
    expect(full.chunksWritten).toBeGreaterThan(50);
    expect(await pendingPages()).toBe(0);

    await repo.writeMany({
      "src/module-3.ts": "export function zebraCrossingSignal() { return 1; }\n",
    });
    await repo.commit("change one");
    const incremental = await syncSourceLocally(rt.deps, {
      sourceId: source.id,
      mode: "incremental",
    });
    expect(incremental.status).toBe("succeeded");
    expect(await pendingPages()).toBe(0);
    const hits = await searchChunks(rt.db, rt.embedder, {
      query: "zebra crossing signal",
      k: 3,
      mode: "lexical",
    });
    expect(hits[0]?.path).toBe("src/module-3.ts");
  });
});
