import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../lib/archive/checksum";
import { FolderArchiveStore } from "../../lib/archive/folder-store";
import { ArchiveVerificationError, type Manifest, verifyPart } from "../../lib/retention/archive";

/**
 * Reading an archive part back stops at the first bad line; whatever the gunzip stream still
 * has to say afterwards (its data check failing, or the premature close of the source being
 * destroyed) must reach the caller's promise or nobody, never the process as an uncaught
 * exception. CI once failed on exactly that: a tampered part whose garbage line was read before
 * the gzip trailer's check failed.
 */
describe("archive parts read back: errors after the first bad line", () => {
  let dir: string;
  let store: FolderArchiveStore;
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "ballast-archive-read-"));
    store = new FolderArchiveStore({ dir });
    process.prependListener("uncaughtException", onUncaught);
  });
  afterAll(async () => {
    process.removeListener("uncaughtException", onUncaught);
    await rm(dir, { recursive: true, force: true });
  });

  function manifestFor(key: string, body: Buffer, rows: number): Manifest {
    return {
      kind: "ballast-archive",
      version: 1,
      dataset: "trace_spans",
      day: "2026-09-01",
      part: 1,
      key,
      rows,
      bytes: body.length,
      sha256: sha256Hex(body),
      contentSha256: "0".repeat(64),
      idColumn: "id",
      timeColumn: "started_at",
      firstAt: null,
      lastAt: null,
      createdAt: "2026-09-02T02:00:00.000Z",
    };
  }

  /** Many rows, so that the first line is parsed long before the trailer is checked. */
  function rows(first: string): string {
    const lines = [first];
    for (let i = 0; i < 100_000; i++) lines.push(JSON.stringify({ id: i, note: `row ${i}` }));
    return `${lines.join("\n")}\n`;
  }

  async function settle(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 300));
  }

  it("a line that is not JSON, then a gzip trailer whose check fails", async () => {
    const body = gzipSync(rows("this is not json"));
    body[body.length - 6] = (body[body.length - 6] ?? 0) ^ 0xff; // inside the CRC32
    const key = "archives/test/crc.jsonl.gz";
    await store.put(key, body, { contentType: "application/gzip" });
    const reading = verifyPart(store, manifestFor(key, body, 100_001));
    await expect(reading).rejects.toBeInstanceOf(ArchiveVerificationError);
    await expect(reading).rejects.toThrow(/line 1 is not JSON/);
    await settle();
    expect(uncaught).toEqual([]);
  });

  it("a line that is not a row, with the rest still streaming", async () => {
    const body = gzipSync(rows(JSON.stringify({ other: 1 })));
    const key = "archives/test/not-a-row.jsonl.gz";
    await store.put(key, body, { contentType: "application/gzip" });
    await expect(verifyPart(store, manifestFor(key, body, 100_001))).rejects.toThrow(
      /line 1 is not a row/,
    );
    await settle();
    expect(uncaught).toEqual([]);
  });

  it("data that does not gunzip at all", async () => {
    const body = Buffer.from("plainly not gzip\n".repeat(1000));
    const key = "archives/test/plain.jsonl.gz";
    await store.put(key, body, { contentType: "application/gzip" });
    await expect(verifyPart(store, manifestFor(key, body, 1000))).rejects.toThrow(
      /does not gunzip/,
    );
    await settle();
    expect(uncaught).toEqual([]);
  });
});
