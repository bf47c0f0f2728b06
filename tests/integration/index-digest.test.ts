import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../../db/client";
import { indexDigest } from "../../lib/ledger/record";
import { addSource } from "../../lib/pipeline/source-records";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { createTestRepo, removeTempDirs } from "../support/git-repo";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

/** The definition, in JS: sha256 over `path \0 hash \n`, pairs in UTF-8 byte order. */
function referenceDigest(pairs: { path: string; content_hash: string }[]) {
  const sorted = [...pairs].sort(
    (a, b) =>
      Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)) ||
      Buffer.compare(Buffer.from(a.content_hash), Buffer.from(b.content_hash)),
  );
  const hash = createHash("sha256");
  for (const p of sorted) hash.update(p.path).update("\0").update(p.content_hash).update("\n");
  return {
    digest: hash.digest("hex"),
    documents: new Set(pairs.map((p) => p.path)).size,
    chunks: pairs.length,
  };
}

describe("index digest (computed in the database)", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime();
  });
  afterAll(async () => {
    await rt.close();
    await removeTempDirs();
  });

  it("equals the definition over every chunk, non-ASCII paths in code point order", async () => {
    const repo = await createTestRepo();
    // U+FF01 sorts before U+1F600 by code point but after it by UTF-16 code unit: the
    // definition is code point (UTF-8 byte) order.
    const files: Record<string, string> = {
      "src/a.ts": "export const a = 1;\n",
      "src/B.ts": "export const b = 2;\n",
      "docs/café.md": "# Café\n\nUne note.\n",
      "docs/日本語.md": "# 見出し\n\n本文。\n",
      "docs/\uff01bang.md": "# Bang\n\ntext\n",
      "docs/\u{1f600}smile.md": "# Smile\n\ntext\n",
      "src/long.ts": Array.from({ length: 200 }, (_, i) => `export const v${i} = ${i};`).join("\n"),
    };
    await repo.writeMany(files);
    await repo.commit("files");
    const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "digest" });
    expect((await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" })).status).toBe(
      "succeeded",
    );
    const pairs = rowsOf<{ path: string; content_hash: string }>(
      await rt.db.execute(
        sql`select path, content_hash from chunks where source_id = ${source.id}`,
      ),
    );
    expect(pairs.length).toBeGreaterThan(Object.keys(files).length);
    const digest = await indexDigest(rt.db, source.id);
    expect(digest).toEqual(referenceDigest(pairs));
    expect(digest.documents).toBe(Object.keys(files).length);

    // One chunk's text changes: the digest does.
    await repo.writeMany({ "src/a.ts": "export const a = 2;\n" });
    await repo.commit("edit");
    await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "incremental" });
    const after = await indexDigest(rt.db, source.id);
    expect(after.digest).not.toBe(digest.digest);
    expect(after.chunks).toBe(digest.chunks);
  });

  it("of a source without chunks: the hash of nothing", async () => {
    const repo = await createTestRepo();
    await repo.writeMany({ "README.md": "" });
    await repo.commit("empty file");
    const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "empty" });
    expect(await indexDigest(rt.db, source.id)).toEqual({
      digest: createHash("sha256").digest("hex"),
      documents: 0,
      chunks: 0,
    });
  });
});
