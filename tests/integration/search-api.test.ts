import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as syncPost } from "../../app/api/admin/sources/[id]/sync/route";
import { GET as searchGet } from "../../app/api/search/route";
import { rowsOf } from "../../db/client";
import { createApiKey } from "../../lib/auth/api-keys";
import { addSource, type SourceRecord } from "../../lib/pipeline/source-records";
import { setRuntime } from "../../lib/runtime";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { createTestRepo, removeTempDirs } from "../support/git-repo";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

interface Hit {
  source: string;
  path: string;
  startLine: number;
  endLine: number;
  score: number;
  snippet: string;
}

describe("GET /api/search and POST /api/admin/sources/:id/sync", () => {
  let rt: TestRuntime;
  let viewer: string;
  let operator: string;
  let docs: SourceRecord;

  const search = async (query: string, key = viewer) =>
    searchGet(
      new Request(`http://localhost/api/search?${query}`, {
        headers: { authorization: `Bearer ${key}` },
      }),
    );

  beforeAll(async () => {
    rt = await createTestRuntime();
    setRuntime(rt);
    viewer = (await createApiKey(rt.db, { name: "reader", role: "viewer", createdBy: "test" })).key;
    operator = (await createApiKey(rt.db, { name: "ops", role: "operator", createdBy: "test" }))
      .key;
    const code = await createTestRepo();
    await code.writeMany({
      "src/cache.ts":
        "export function evictExpiredEntries(cache: Map<string, number>) {\n  for (const [k, t] of cache) if (t < Date.now()) cache.delete(k);\n}\n",
      "src/math.ts": "export const add = (a: number, b: number) => a + b;\n",
    });
    await code.commit("code");
    const notes = await createTestRepo();
    await notes.writeMany({ "cache.md": "# Cache\n\nExpired entries are evicted every minute.\n" });
    await notes.commit("notes");
    const codeSource = await addSource(rt.db, { kind: "git", location: code.dir, name: "code" });
    docs = await addSource(rt.db, { kind: "git", location: notes.dir, name: "notes" });
    await syncSourceLocally(rt.deps, { sourceId: codeSource.id, mode: "full" });
    await syncSourceLocally(rt.deps, { sourceId: docs.id, mode: "full" });
  });
  afterAll(async () => {
    setRuntime(undefined);
    await rt.close();
    await removeTempDirs();
  });

  it("returns ranked chunks with source, path, line range, score and snippet", async () => {
    const response = await search("q=evict%20expired%20cache%20entries&k=3");
    expect(response.status).toBe(200);
    const body = (await response.json()) as { results: Hit[]; k: number; embeddingSpace: string };
    expect(body.k).toBe(3);
    expect(body.embeddingSpace).toBe(rt.embedder.space);
    expect(body.results[0]).toMatchObject({
      source: "code",
      path: "src/cache.ts",
      startLine: 1,
      endLine: 3,
    });
    expect(body.results[0]?.snippet).toContain("evictExpiredEntries");
    const scores = body.results.map((r) => r.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it("filters by source name", async () => {
    const response = await search("q=evict%20expired%20cache%20entries&source=notes");
    const body = (await response.json()) as { results: Hit[] };
    expect(body.results.length).toBeGreaterThan(0);
    expect(body.results.every((r) => r.source === "notes")).toBe(true);
  });

  it("validates the query: 400 empty, 422 oversized or bad k, 404 unknown source", async () => {
    expect((await search("")).status).toBe(400);
    expect((await search("q=%20%20")).status).toBe(400);
    const long = await search(`q=${"a".repeat(1001)}`);
    expect(long.status).toBe(422);
    expect(
      ((await long.json()) as { error: { issues: { path: string }[] } }).error.issues[0]?.path,
    ).toBe("q");
    for (const k of ["0", "101", "abc", "2.5"])
      expect((await search(`q=cache&k=${k}`)).status).toBe(422);
    expect((await search("q=cache&source=nope")).status).toBe(404);
    expect((await searchGet(new Request("http://localhost/api/search?q=cache"))).status).toBe(401);
  });

  it("queues a sync for an operator even while Inngest is unreachable", async () => {
    const call = (key: string, body?: string) =>
      syncPost(
        new Request(`http://localhost/api/admin/sources/${docs.id}/sync`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body,
        }),
        { params: Promise.resolve({ id: docs.id }) },
      );
    expect((await call(viewer)).status).toBe(403);
    expect((await call(operator, '{"mode":"sideways"}')).status).toBe(422);
    const response = await call(operator, '{"mode":"full"}');
    expect(response.status).toBe(202);
    const body = (await response.json()) as {
      run: { id: string; status: string; requestedMode: string };
      dispatched: boolean;
    };
    expect(body.run).toMatchObject({ status: "queued", requestedMode: "full" });
    expect(body.dispatched).toBe(false);
    const [outbox] = rowsOf<{ status: string; name: string }>(
      await rt.db.execute(
        sql`select status, name from outbox_events where data->>'sourceId' = ${docs.id}`,
      ),
    );
    expect(outbox).toEqual({ status: "pending", name: "source/sync.requested" });
  });
});
