/**
 * One contract for both archive backends: the folder store on a temp dir, and the S3 store
 * against a real S3-protocol server (s3rver) on loopback. Each test gets a fresh store (a new
 * folder, or a new key prefix in the bucket), so tests never see each other's objects.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import {
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type ArchiveObjectInfo,
  type ArchiveStore,
  createArchiveStore,
  FolderArchiveStore,
  S3ArchiveStore,
} from "../../lib/archive";
import { BallastError, NotFoundError, UnavailableError, ValidationError } from "../../lib/errors";
import { type S3TestServer, startS3Server } from "../support/s3-server";

const MIB = 1024 * 1024;
const PART_SIZE = 5 * MIB;
const PAGE_SIZE = 7;

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

function patterned(size: number, seed = 1): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    buf[i] = x >>> 24;
  }
  return buf;
}

/** A stream of `data` in chunks of uneven sizes; optionally fails after `failAfter` bytes. */
function chunked(data: Buffer, failAfter?: number): Readable {
  function* chunks() {
    let offset = 0;
    let n = 0;
    while (offset < data.length) {
      if (failAfter !== undefined && offset >= failAfter) throw new Error("source stream broke");
      const size = [65_536, 1, 300_001, 8192, 1_048_577][n++ % 5] as number;
      yield data.subarray(offset, offset + size);
      offset += size;
    }
    if (failAfter !== undefined) throw new Error("source stream broke");
  }
  return Readable.from(chunks(), { objectMode: false });
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function listAll(store: ArchiveStore, prefix?: string): Promise<ArchiveObjectInfo[]> {
  const out: ArchiveObjectInfo[] = [];
  for await (const info of store.list(prefix)) out.push(info);
  return out;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<BallastError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, `expected a ${code} error`).toBeInstanceOf(BallastError);
  expect((error as BallastError).code).toBe(code);
  return error as BallastError;
}

interface Harness {
  name: "folder" | "s3";
  /** A fresh, empty store. */
  make(): Promise<ArchiveStore>;
  /** Replace the stored bytes of `key` behind the store's back, keeping its recorded checksum. */
  tamper(store: ArchiveStore, key: string, bytes: Buffer): Promise<void>;
  /** Every raw object/file the backend holds for this store (to prove nothing was written). */
  rawContents(store: ArchiveStore): Promise<string[]>;
}

let s3: S3TestServer;
let rawS3: S3Client;
const cleanups: (() => Promise<void>)[] = [];
let sequence = 0;

beforeAll(async () => {
  s3 = await startS3Server();
  rawS3 = new S3Client({
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

afterAll(async () => {
  rawS3?.destroy();
  await s3?.close();
});

const folderDirs = new WeakMap<ArchiveStore, string>();
const s3Prefixes = new WeakMap<ArchiveStore, string>();

const folderHarness: Harness = {
  name: "folder",
  async make() {
    const parent = await mkdtemp(path.join(tmpdir(), "ballast-archive-"));
    cleanups.push(() => rm(parent, { recursive: true, force: true }));
    const dir = path.join(parent, "archive");
    const store = createArchiveStore({ backend: "folder", dir });
    folderDirs.set(store, dir);
    return store;
  },
  async tamper(store, key, bytes) {
    const dir = folderDirs.get(store) as string;
    for (const file of await filesUnder(path.join(dir, "keys"))) {
      const record = JSON.parse(await readFile(path.join(dir, "keys", file), "utf8"));
      if (record.key === key) {
        await writeFile(path.join(dir, "blobs", record.blob), bytes);
        return;
      }
    }
    throw new Error(`no record for ${key}`);
  },
  async rawContents(store) {
    return filesUnder(folderDirs.get(store) as string);
  },
};

const s3Harness: Harness = {
  name: "s3",
  async make() {
    const prefix = `contract/${++sequence}-${randomBytes(4).toString("hex")}/`;
    const store = createArchiveStore({
      backend: "s3",
      bucket: s3.bucket,
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      prefix,
      pageSize: PAGE_SIZE,
      partSize: PART_SIZE,
    });
    cleanups.push(async () => store.destroy());
    s3Prefixes.set(store, prefix);
    return store;
  },
  async tamper(store, key, bytes) {
    const info = await store.head(key);
    if (!info) throw new Error(`no object ${key}`);
    await rawS3.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: `${s3Prefixes.get(store)}${key}`,
        Body: bytes,
        ContentType: info.contentType,
        Metadata: { ...info.metadata, sha256: info.sha256 },
      }),
    );
  },
  async rawContents(store) {
    const prefix = s3Prefixes.get(store) as string;
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await rawS3.send(
        new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const entry of page.Contents ?? [])
        keys.push((entry.Key as string).slice(prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  },
};

describe.each([folderHarness, s3Harness])("archive store contract: $name", (harness) => {
  it("reports its backend and a location without secrets", async () => {
    const store = await harness.make();
    expect(store.backend).toBe(harness.name);
    if (harness.name === "folder") expect(store.location).toMatch(/^folder \/.*\/archive$/);
    else {
      expect(store.location).toMatch(/^s3:\/\/ballast-test\/contract\/.+\/ via 127\.0\.0\.1:\d+$/);
      expect(store.location).not.toContain(s3.secretAccessKey);
      expect(store.location).not.toContain(s3.accessKeyId);
    }
    const { latencyMs } = await store.ping();
    expect(latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("puts a buffer and gets it back with head and get agreeing", async () => {
    const store = await harness.make();
    const data = patterned(10_000);
    const put = await store.put("runs/r1/trace.bin", data);
    expect(put).toMatchObject({
      key: "runs/r1/trace.bin",
      size: data.length,
      sha256: sha256(data),
      contentType: "application/octet-stream",
      metadata: {},
    });
    expect(put.lastModified).toBeInstanceOf(Date);
    expect(Number.isNaN(put.lastModified.getTime())).toBe(false);

    const got = await store.get("runs/r1/trace.bin");
    expect(got.body.equals(data)).toBe(true);
    expect(got.info).toEqual(put);
    expect(await store.head("runs/r1/trace.bin")).toEqual(put);
  });

  it("stores strings as UTF-8 and Uint8Array views exactly", async () => {
    const store = await harness.make();
    const text = "héllo ✓ archive\n";
    const s = await store.put("text.txt", text);
    expect(s.size).toBe(Buffer.byteLength(text));
    expect(s.contentType).toBe("text/plain; charset=utf-8");
    expect((await store.get("text.txt")).body.toString("utf8")).toBe(text);

    const backing = patterned(1000, 7);
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 100, 500);
    const v = await store.put("view.bin", view);
    expect(v.size).toBe(500);
    expect(v.sha256).toBe(sha256(backing.subarray(100, 600)));
    expect((await store.get("view.bin")).body.equals(backing.subarray(100, 600))).toBe(true);

    const empty = await store.put("empty", Buffer.alloc(0));
    expect(empty).toMatchObject({ size: 0, sha256: sha256(Buffer.alloc(0)) });
    expect((await store.get("empty")).body.length).toBe(0);
  });

  it("round-trips content type and metadata, and an overwrite replaces both", async () => {
    const store = await harness.make();
    const metadata = {
      "run-id": "run_01HZX",
      source: "github:acme/widgets",
      "trace.v": "2",
      empty: "",
    };
    const info = await store.put("meta/a.json.gz", '{"a":1}', {
      contentType: "application/gzip",
      metadata,
    });
    expect(info.contentType).toBe("application/gzip");
    expect(info.metadata).toEqual(metadata);
    expect((await store.head("meta/a.json.gz"))?.metadata).toEqual(metadata);
    expect((await store.get("meta/a.json.gz")).info.metadata).toEqual(metadata);
    const [listed] = await listAll(store, "meta/");
    expect(listed?.metadata).toEqual(metadata);
    expect(listed?.contentType).toBe("application/gzip");

    const replaced = await store.put("meta/a.json.gz", Buffer.from("second"), {
      metadata: { other: "x" },
    });
    expect(replaced.metadata).toEqual({ other: "x" });
    expect(replaced.contentType).toBe("application/octet-stream");
    const got = await store.get("meta/a.json.gz");
    expect(got.body.toString()).toBe("second");
    expect(got.info.metadata).toEqual({ other: "x" });
  });

  it("streams a multi-megabyte body in and out, verifying content and sha256", async () => {
    const store = await harness.make();
    const data = patterned(12 * MIB + 12_345, 3); // more than two S3 parts
    const info = await store.put("big/trace.jsonl", chunked(data), {
      contentType: "application/x-ndjson",
    });
    expect(info.size).toBe(data.length);
    expect(info.sha256).toBe(sha256(data));
    expect(info.contentType).toBe("application/x-ndjson");

    const { info: streamInfo, stream } = await store.getStream("big/trace.jsonl");
    expect(streamInfo.sha256).toBe(sha256(data));
    const streamed = await collect(stream);
    expect(streamed.length).toBe(data.length);
    expect(sha256(streamed)).toBe(sha256(data));
    expect(streamed.equals(data)).toBe(true);

    const got = await store.get("big/trace.jsonl");
    expect(got.body.equals(data)).toBe(true);

    // A buffer larger than a part goes in as one object too.
    const buffer = patterned(6 * MIB + 1, 4);
    expect((await store.put("big/buffer.bin", buffer)).sha256).toBe(sha256(buffer));
    expect((await store.get("big/buffer.bin")).body.equals(buffer)).toBe(true);

    // Nothing left over besides the objects (no staging objects, temp files, stray blobs).
    const raw = await harness.rawContents(store);
    if (harness.name === "s3") expect(raw).toEqual(["big/buffer.bin", "big/trace.jsonl"]);
    else expect(raw.filter((f) => !f.startsWith("keys/"))).toHaveLength(2);
  });

  it("stores short streams, streams ending exactly on a part boundary, and empty streams", async () => {
    const store = await harness.make();
    const small = patterned(70_000, 5);
    expect((await store.put("s/small", chunked(small))).sha256).toBe(sha256(small));
    expect((await store.get("s/small")).body.equals(small)).toBe(true);

    const exact = patterned(2 * PART_SIZE, 6);
    expect(
      (
        await store.put(
          "s/exact",
          Readable.from([exact.subarray(0, PART_SIZE), exact.subarray(PART_SIZE)]),
        )
      ).size,
    ).toBe(exact.length);
    expect((await store.get("s/exact")).body.equals(exact)).toBe(true);

    const empty = await store.put("s/empty", Readable.from([], { objectMode: false }));
    expect(empty.size).toBe(0);
    expect((await store.get("s/empty")).body.length).toBe(0);

    const text = await store.put("s/text", Readable.from(["ab", "cé"]));
    expect(text.size).toBe(5);
    expect((await store.get("s/text")).body.toString()).toBe("abcé");
  });

  it("lists by prefix in key order across many pages", async () => {
    const store = await harness.make();
    const keys = Array.from({ length: 25 }, (_, i) => `list/item-${String(i).padStart(2, "0")}`);
    // Put in reverse so the order comes from the store, not from insertion.
    for (const key of [...keys].reverse())
      await store.put(key, `body of ${key}`, { metadata: { k: key.slice(-2) } });
    await store.put("listing/other", "x");
    await store.put("elsewhere/y", "y");

    const listed = await listAll(store, "list/");
    expect(listed.map((i) => i.key)).toEqual(keys); // 25 > several pages of PAGE_SIZE
    for (const info of listed) {
      expect(info.size).toBe(Buffer.byteLength(`body of ${info.key}`));
      expect(info.sha256).toBe(sha256(Buffer.from(`body of ${info.key}`)));
      expect(info.metadata).toEqual({ k: info.key.slice(-2) });
    }
    expect((await listAll(store, "list")).map((i) => i.key)).toEqual([...keys, "listing/other"]);
    expect((await listAll(store, "list/item-1")).map((i) => i.key)).toEqual(keys.slice(10, 20));
    expect((await listAll(store)).map((i) => i.key)).toEqual([
      "elsewhere/y",
      ...keys,
      "listing/other",
    ]);
    expect(await listAll(store, "nothing/")).toEqual([]);
  });

  it("keeps a key and keys below it apart, with odd characters, in UTF-8 byte order", async () => {
    const store = await harness.make();
    const keys = [
      "a",
      "a/b",
      "a-c",
      "a.d/x.rec",
      "a%20b",
      "ä",
      "z/ü ñ (1).txt",
      "back\\slash",
      "q?x=1&y",
    ];
    for (const key of keys) await store.put(key, `v:${key}`);
    for (const key of keys) expect((await store.get(key)).body.toString()).toBe(`v:${key}`);
    const byteOrder = (x: string, y: string) => Buffer.compare(Buffer.from(x), Buffer.from(y));
    const expected = [...keys].sort(byteOrder);
    const listed = (await listAll(store)).map((i) => i.key);
    // Real S3 lists in UTF-8 byte order; s3rver follows its directory walk ("a/b" before "a"),
    // so against s3rver only the set is checked.
    if (harness.name === "folder") expect(listed).toEqual(expected);
    else expect([...listed].sort(byteOrder)).toEqual(expected);
    expect((await listAll(store, "a/")).map((i) => i.key)).toEqual(["a/b"]);
    expect(await store.delete("a")).toBe(true);
    expect((await store.get("a/b")).body.toString()).toBe("v:a/b");
  });

  it("deletes: true once, then false; the object is gone everywhere", async () => {
    const store = await harness.make();
    await store.put("d/one", "1");
    await store.put("d/two", "2");
    expect(await store.delete("d/one")).toBe(true);
    expect(await store.delete("d/one")).toBe(false);
    expect(await store.delete("never/was")).toBe(false);
    expect(await store.head("d/one")).toBeNull();
    await expect(store.get("d/one")).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.getStream("d/one")).rejects.toBeInstanceOf(NotFoundError);
    expect((await listAll(store)).map((i) => i.key)).toEqual(["d/two"]);
    expect(await store.delete("d/two")).toBe(true);
    expect(await harness.rawContents(store)).toEqual([]);
  });

  it("answers a missing key with NotFoundError from get and getStream, null from head", async () => {
    const store = await harness.make();
    const error = await store.get("missing/key").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).code).toBe("not_found");
    expect((error as Error).message).toContain("missing/key");
    await expect(store.getStream("missing/key")).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.head("missing/key")).toBeNull();
  });

  it("detects tampered bytes on get and at the end of getStream", async () => {
    const store = await harness.make();
    const data = patterned(300_000, 9);
    await store.put("t/same-size", data);
    const flipped = Buffer.from(data);
    flipped[123_456] = (flipped[123_456] as number) ^ 0x01;
    await harness.tamper(store, "t/same-size", flipped);

    const error = await expectCode(store.get("t/same-size"), "archive_checksum_mismatch");
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("t/same-size");
    expect(error.message).toContain(sha256(data));

    const { stream } = await store.getStream("t/same-size");
    await expectCode(collect(stream), "archive_checksum_mismatch");

    await store.put("t/shorter", "the original content");
    await harness.tamper(store, "t/shorter", Buffer.from("short"));
    await expectCode(store.get("t/shorter"), "archive_checksum_mismatch");
    await expectCode(
      store.getStream("t/shorter").then((s) => collect(s.stream)),
      "archive_checksum_mismatch",
    );

    // A good object next to them still reads.
    await store.put("t/fine", "fine");
    expect((await store.get("t/fine")).body.toString()).toBe("fine");
  });

  it("rejects bad keys with ValidationError and writes nothing", async () => {
    const store = await harness.make();
    const bad: unknown[] = [
      "",
      "/abs/key",
      "..",
      "../escape",
      "a/../../escape",
      "a/..",
      "./a",
      "a/./b",
      "a//b",
      "a/",
      "ctl\u0001x",
      "tab\tx",
      "nul\u0000x",
      "del\u007fx",
      "c1\u0085x",
      "lone\ud800surrogate",
      "x".repeat(1025),
      "é".repeat(513),
      ".ballast-staging/x",
      undefined,
      42,
    ];
    for (const key of bad) {
      const k = key as string;
      await expect(store.put(k, "data"), `put ${JSON.stringify(key)}`).rejects.toBeInstanceOf(
        ValidationError,
      );
      await expect(store.put(k, chunked(patterned(1000)))).rejects.toBeInstanceOf(ValidationError);
      await expect(store.get(k)).rejects.toBeInstanceOf(ValidationError);
      await expect(store.getStream(k)).rejects.toBeInstanceOf(ValidationError);
      await expect(store.head(k)).rejects.toBeInstanceOf(ValidationError);
      await expect(store.delete(k)).rejects.toBeInstanceOf(ValidationError);
    }
    // A long key made of ordinary segments works (the S3 store's own prefix counts toward
    // S3's 1024-byte limit, so this stays a little under it).
    const long = `${"k".repeat(200)}/${"é".repeat(100)}/${"k".repeat(200)}/${"k".repeat(200)}/${"k".repeat(196)}`;
    expect(Buffer.byteLength(long)).toBe(1000);
    expect((await store.put(long, "ok")).key).toBe(long);

    await expect(listAll(store, "/abs")).rejects.toBeInstanceOf(ValidationError);
    await expect(listAll(store, "x\u0001")).rejects.toBeInstanceOf(ValidationError);
    const raw = await harness.rawContents(store);
    if (harness.name === "folder") expect(raw.filter((f) => f.startsWith("keys/"))).toHaveLength(1);
    else expect(raw).toEqual([long]);
  });

  it("rejects bad options and bodies with ValidationError and writes nothing", async () => {
    const store = await harness.make();
    const cases: [unknown, object | undefined][] = [
      ["x", { metadata: { Upper: "x" } }],
      ["x", { metadata: { "has space": "x" } }],
      ["x", { metadata: { sha256: "0".repeat(64) } }],
      ["x", { metadata: { note: "naïve" } }],
      ["x", { metadata: { note: "line\nbreak" } }],
      ["x", { metadata: { note: " padded" } }],
      ["x", { metadata: { big: "v".repeat(2000) } }],
      ["x", { metadata: { n: 1 } }],
      ["x", { contentType: "not a type" }],
      ["x", { contentType: "text/plain\r\nX-Evil: 1" }],
      [12345, undefined],
      [null, undefined],
      [{ not: "a stream" }, undefined],
    ];
    for (const [body, options] of cases) {
      await expect(
        store.put("bad/options", body as string, options as never),
        JSON.stringify([body, options]),
      ).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await store.head("bad/options")).toBeNull();
    expect(await harness.rawContents(store)).toEqual([]);
  });

  it("keeps the previous version when a streamed put fails midway", async () => {
    const store = await harness.make();
    await store.put("v/obj", "version 1", { metadata: { v: "1" } });
    const big = patterned(PART_SIZE + 2 * MIB, 11);
    // Fails after the first S3 part was uploaded (multipart path) and before the end.
    await expect(store.put("v/obj", chunked(big, PART_SIZE + MIB))).rejects.toThrow(
      "source stream broke",
    );
    await expect(store.put("v/obj", chunked(patterned(1000), 500))).rejects.toThrow(
      "source stream broke",
    );
    await expect(store.put("v/new", chunked(big, PART_SIZE + MIB))).rejects.toThrow(
      "source stream broke",
    );

    const got = await store.get("v/obj");
    expect(got.body.toString()).toBe("version 1");
    expect(got.info.metadata).toEqual({ v: "1" });
    expect(await store.head("v/new")).toBeNull();
    expect((await listAll(store)).map((i) => i.key)).toEqual(["v/obj"]);
    const raw = await harness.rawContents(store);
    if (harness.name === "s3") {
      expect(raw).toEqual(["v/obj"]);
      const uploads = await rawS3
        .send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }))
        .catch(() => null);
      for (const upload of uploads?.Uploads ?? [])
        expect(upload.Key).not.toContain(s3Prefixes.get(store));
    } else {
      expect(raw.filter((f) => !f.startsWith("keys/"))).toHaveLength(1); // v/obj's blob, no temp files
    }
  });

  it("never serves a mix of concurrent puts of one key", async () => {
    const store = await harness.make();
    const versions = Array.from({ length: 6 }, (_, i) => patterned(50_000 + i, 100 + i));
    const results = await Promise.allSettled(
      versions.map((v, i) => store.put("race/key", i % 2 ? chunked(v) : v)),
    );
    const got = await store.get("race/key").catch((error: unknown) => error);
    if (harness.name === "folder") {
      // Atomic commit: every put succeeds and the last one wins whole.
      expect(results.every((r) => r.status === "fulfilled")).toBe(true);
      const { body } = got as { body: Buffer };
      expect(versions.some((v) => v.equals(body))).toBe(true);
      expect((await store.head("race/key"))?.sha256).toBe(sha256(body));
    } else {
      // S3 itself is atomic per PUT; s3rver is not and can interleave the bytes of concurrent
      // writes. Whatever it ends with, the store must not pass a mix off as valid.
      for (const r of results)
        if (r.status === "rejected")
          expect((r.reason as BallastError).code).toBe("archive_checksum_mismatch");
      if (got instanceof Error)
        expect((got as BallastError).code).toBe("archive_checksum_mismatch");
      else expect(versions.some((v) => v.equals((got as { body: Buffer }).body))).toBe(true);
    }
    expect((await listAll(store)).map((i) => i.key)).toEqual(["race/key"]);
  });
});

describe("folder store", () => {
  it("keeps every file inside its folder, whatever the key", async () => {
    const store = await folderHarness.make();
    const dir = folderDirs.get(store) as string;
    const parent = path.dirname(dir);
    const keys = [
      "..\\..\\escape",
      "a\\..\\..\\b",
      "%2e%2e/%2e%2e/x",
      "...",
      "a/.../b",
      "C:\\x",
      "con",
      "x.d",
      "x.rec",
    ];
    for (const key of keys) await store.put(key, key);
    for (const key of keys) expect((await store.get(key)).body.toString()).toBe(key);
    expect(await readdir(parent)).toEqual(["archive"]);
    const files = await filesUnder(dir);
    for (const file of files) expect(file).toMatch(/^(keys|blobs)\//);
    expect(files.filter((f) => f.startsWith("keys/"))).toHaveLength(keys.length);
  });

  it("treats an unreadable record as corruption, never as valid content", async () => {
    const store = await folderHarness.make();
    const dir = folderDirs.get(store) as string;
    await store.put("torn/record", "content");
    const [recordFile] = (await filesUnder(path.join(dir, "keys"))).filter((f) =>
      f.endsWith(".rec"),
    );
    const full = path.join(dir, "keys", recordFile as string);
    const text = await readFile(full, "utf8");
    await writeFile(full, text.slice(0, text.length / 2)); // a torn write
    await expectCode(store.get("torn/record"), "archive_checksum_mismatch");
    await expectCode(store.head("torn/record"), "archive_checksum_mismatch");

    // A record pointing outside blobs/ is refused, not followed.
    await writeFile(full, text.replace(/"blob": "[^"]+"/, '"blob": "../../../etc/passwd"'));
    await expectCode(store.get("torn/record"), "archive_checksum_mismatch");

    // Deleting it still works and leaves the store clean.
    expect(await store.delete("torn/record")).toBe(true);
    expect(await store.head("torn/record")).toBeNull();
  });

  it("says so when a key segment is too long for a file name", async () => {
    const store = await folderHarness.make();
    await expect(store.put(`a/${"x".repeat(300)}`, "x")).rejects.toBeInstanceOf(ValidationError);
    expect(await folderHarness.rawContents(store)).toEqual([]);
  });

  it("reports an unusable folder as UnavailableError", async () => {
    const parent = await mkdtemp(path.join(tmpdir(), "ballast-archive-"));
    cleanups.push(() => rm(parent, { recursive: true, force: true }));
    const file = path.join(parent, "a-file");
    await writeFile(file, "not a directory");
    const store = new FolderArchiveStore({ dir: file });
    const error = await expectCode(store.ping(), "archive_unavailable");
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.retryable).toBe(true);
    await expectCode(store.put("k", "v"), "archive_unavailable");
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("S3 store", () => {
  it("gives UnavailableError for an unreachable endpoint, with no credentials in the message", async () => {
    const port = await closedPort();
    const store = new S3ArchiveStore({
      bucket: "ballast-test",
      region: "us-east-1",
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      accessKeyId: "AKIAUNREACHABLE0001",
      secretAccessKey: "unreachable-secret-value-0123456789",
      prefix: "p",
      maxAttempts: 2,
    });
    cleanups.push(async () => store.destroy());
    const attempts: [string, () => Promise<unknown>][] = [
      ["put", () => store.put("k", "v")],
      ["put stream", () => store.put("k", chunked(patterned(1000)))],
      ["get", () => store.get("k")],
      ["getStream", () => store.getStream("k")],
      ["head", () => store.head("k")],
      ["list", () => listAll(store)],
      ["delete", () => store.delete("k")],
      ["ping", () => store.ping()],
    ];
    for (const [what, attempt] of attempts) {
      const error = await expectCode(attempt(), "archive_unavailable");
      expect(error, what).toBeInstanceOf(UnavailableError);
      expect(error.retryable).toBe(true);
      expect(error.status).toBe(503);
      expect(error.message).toContain(`127.0.0.1:${port}`);
      const everything = `${error.message} ${String((error.cause as Error | undefined)?.message)} ${JSON.stringify(error)}`;
      expect(everything).not.toContain("unreachable-secret-value-0123456789");
      expect(everything).not.toContain("AKIAUNREACHABLE0001");
    }
  });

  it("refuses unknown credentials as a non-retryable error that does not echo them", async () => {
    // s3rver checks the access key id but not SigV4 signatures, so the id is what is wrong here.
    const store = new S3ArchiveStore({
      bucket: s3.bucket,
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      accessKeyId: "AKIAUNKNOWNKEY000042",
      secretAccessKey: "definitely-the-wrong-secret-42",
      prefix: "wrong-key/",
    });
    cleanups.push(async () => store.destroy());
    for (const attempt of [() => store.put("k", "v"), () => store.head("k"), () => store.ping()]) {
      const error = await expectCode(attempt(), "archive_access_denied");
      expect(error.retryable).toBe(false);
      expect(error.message).toContain("archive");
      const everything = `${error.message} ${String((error.cause as Error | undefined)?.message)}`;
      expect(everything).not.toContain("definitely-the-wrong-secret-42");
      expect(everything).not.toContain("AKIAUNKNOWNKEY000042");
    }
  });

  it("says when the bucket does not exist", async () => {
    const store = new S3ArchiveStore({
      bucket: "no-such-bucket",
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      prefix: "",
    });
    cleanups.push(async () => store.destroy());
    const error = await expectCode(store.put("k", "v"), "archive_misconfigured");
    expect(error.message).toContain("no-such-bucket");
    await expectCode(store.ping(), "archive_misconfigured");
  });

  it("refuses objects without a recorded sha256 (not written by the store)", async () => {
    const store = await s3Harness.make();
    await rawS3.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: `${s3Prefixes.get(store)}foreign`,
        Body: "foreign",
      }),
    );
    expect((await store.head("foreign"))?.sha256).toBe("");
    await expectCode(store.get("foreign"), "archive_checksum_mismatch");
    await expectCode(store.getStream("foreign"), "archive_checksum_mismatch");
  });

  it("validates its options", () => {
    const base = {
      backend: "s3" as const,
      bucket: "b",
      region: "us-east-1",
      forcePathStyle: true,
      prefix: "",
    };
    expect(() => createArchiveStore({ ...base, partSize: MIB })).toThrow(ValidationError);
    expect(() => createArchiveStore({ ...base, pageSize: 0 })).toThrow(ValidationError);
    expect(() => createArchiveStore({ ...base, endpoint: "not a url" })).toThrow(ValidationError);
    expect(() => createArchiveStore({ ...base, accessKeyId: "only-the-id" })).toThrow(
      ValidationError,
    );
    expect(() => createArchiveStore({ ...base, bucket: "" })).toThrow(ValidationError);
    const aws = createArchiveStore({ ...base, prefix: "/ballast/prod" });
    expect(aws.location).toBe("s3://b/ballast/prod/");
    aws.destroy();
  });
});
