/**
 * The embedded archive store: a folder on the local disk (development, tests, the CLI).
 *
 * Layout under `dir`:
 *   keys/   one JSON record per object, at a path mirroring its key: every directory segment
 *           gets the suffix `.d` and the last segment `.rec` (so `a` and `a/b` can coexist, as
 *           in S3); `%`, `\` and characters Windows forbids are %-escaped.
 *   blobs/  the bytes, one file per put, named by a random id (`blobs/<2 hex>/<uuid>`).
 *   tmp/    records being written or deleted.
 *
 * A put writes and fsyncs the blob, then the record to tmp/, and commits by renaming the record
 * into keys/: the record is the only commit point, so readers see the old object or the new
 * one, never a mix, and a crash leaves at worst an unreferenced blob. Every read verifies the
 * blob against the size and SHA-256 in the record. Paths are built from validated, escaped
 * segments and checked to stay inside `dir`, so a key cannot reach outside it.
 */
import { randomUUID } from "node:crypto";
import type { Dirent } from "node:fs";
import {
  access,
  constants,
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
} from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { NotFoundError, UnavailableError, ValidationError } from "../errors";
import { elapsedMs } from "../timing";
import {
  ArchiveChecksumError,
  assertBody,
  hashingChunks,
  isSha256Hex,
  readVerified,
  verifyingStream,
} from "./checksum";
import { validateKey, validatePrefix, validatePutOptions } from "./keys";
import type { ArchiveBody, ArchiveObjectInfo, ArchiveStore, PutOptions } from "./types";

const DIR_SUFFIX = ".d";
const RECORD_SUFFIX = ".rec";
const MAX_NAME_BYTES = 255;
const BLOB_REF = /^[0-9a-f]{2}\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Attempts when a concurrent writer or deleter changes the tree under us. */
const RACE_ATTEMPTS = 5;

interface StoredRecord {
  v: 1;
  key: string;
  size: number;
  sha256: string;
  contentType: string;
  lastModified: string;
  metadata: Record<string, string>;
  blob: string;
}

function escapeSegment(segment: string): string {
  return segment.replace(
    /[%\\<>:"|?*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`,
  );
}

function unescapeSegment(name: string): string {
  return name.replace(/%([0-9A-F]{2})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

function errnoCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function isMissing(error: unknown): boolean {
  const code = errnoCode(error);
  return code === "ENOENT" || code === "ENOTDIR";
}

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

export class FolderArchiveStore implements ArchiveStore {
  readonly backend = "folder" as const;
  readonly location: string;
  private readonly root: string;
  private readonly keysRoot: string;
  private readonly blobsRoot: string;
  private readonly tmpRoot: string;

  constructor(options: { dir: string }) {
    if (typeof options.dir !== "string" || options.dir.trim() === "")
      throw new ValidationError("archive folder: dir must be a non-empty path", [
        { path: "dir", message: "must be a non-empty path" },
      ]);
    this.root = path.resolve(options.dir);
    this.keysRoot = path.join(this.root, "keys");
    this.blobsRoot = path.join(this.root, "blobs");
    this.tmpRoot = path.join(this.root, "tmp");
    this.location = `folder ${this.root}`;
  }

  async put(key: string, body: ArchiveBody, options?: PutOptions): Promise<ArchiveObjectInfo> {
    validateKey(key);
    const { contentType, metadata } = validatePutOptions(options, body);
    assertBody(body);
    const recordPath = this.recordPath(key);

    const id = randomUUID();
    const blob = `${id.slice(0, 2)}/${id}`;
    const blobPath = path.join(this.blobsRoot, blob);
    const tmpRecord = path.join(this.tmpRoot, `${id}${RECORD_SUFFIX}`);
    let committed = false;
    try {
      await this.io("writing", () => mkdir(path.dirname(blobPath), { recursive: true }));
      await this.io("writing", () => mkdir(this.tmpRoot, { recursive: true }));
      const { sha256, size } = await this.writeBlob(key, blobPath, body);
      const record: StoredRecord = {
        v: 1,
        key,
        size,
        sha256,
        contentType,
        lastModified: new Date().toISOString(),
        metadata,
        blob,
      };
      await this.io("writing", () =>
        writeSynced(tmpRecord, `${JSON.stringify(record, null, 2)}\n`),
      );
      const previous = await this.readRecordFile(recordPath, key).catch(() => null);
      await this.commit(tmpRecord, recordPath);
      committed = true;
      if (previous && previous.blob !== blob) await this.removeBlob(previous.blob);
      return toInfo(record);
    } finally {
      if (!committed) {
        await rm(blobPath, { force: true }).catch(() => undefined);
        await rm(tmpRecord, { force: true }).catch(() => undefined);
      }
    }
  }

  async get(key: string): Promise<{ info: ArchiveObjectInfo; body: Buffer }> {
    validateKey(key);
    const { record, handle } = await this.openObject(key);
    const body = await readVerified(handle.createReadStream(), record, (error) =>
      this.unavailable("reading", error),
    );
    return { info: toInfo(record), body };
  }

  async getStream(key: string): Promise<{ info: ArchiveObjectInfo; stream: Readable }> {
    validateKey(key);
    const { record, handle } = await this.openObject(key);
    const stream = verifyingStream(handle.createReadStream(), record, (error) =>
      this.unavailable("reading", error),
    );
    return { info: toInfo(record), stream };
  }

  async head(key: string): Promise<ArchiveObjectInfo | null> {
    validateKey(key);
    const record = await this.readRecordFile(this.recordPath(key), key);
    return record ? toInfo(record) : null;
  }

  async *list(prefix?: string): AsyncIterable<ArchiveObjectInfo> {
    const wanted = validatePrefix(prefix);
    yield* this.walk(this.keysRoot, "", wanted);
  }

  async delete(key: string): Promise<boolean> {
    validateKey(key);
    const recordPath = this.recordPath(key);
    const tmpRecord = path.join(this.tmpRoot, `${randomUUID()}.deleting`);
    await this.io("deleting", () => mkdir(this.tmpRoot, { recursive: true }));
    try {
      await rename(recordPath, tmpRecord);
    } catch (error) {
      if (isMissing(error)) return false;
      throw this.unavailable("deleting", error);
    }
    // The object is gone once its record left keys/; what follows is tidying up.
    const record = await this.readRecordFile(tmpRecord, key).catch(() => null);
    if (record) await this.removeBlob(record.blob);
    await rm(tmpRecord, { force: true }).catch(() => undefined);
    await this.pruneEmptyDirs(path.dirname(recordPath));
    return true;
  }

  async ping(): Promise<{ latencyMs: number }> {
    const started = performance.now();
    await this.io("checking", async () => {
      await mkdir(this.root, { recursive: true });
      const info = await stat(this.root);
      if (!info.isDirectory())
        throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
      await access(this.root, constants.R_OK | constants.W_OK);
    });
    return { latencyMs: elapsedMs(started) };
  }

  // --- paths -------------------------------------------------------------------------------

  private recordPath(key: string): string {
    const segments = key.split("/");
    const last = segments.pop() as string;
    const names = [
      ...segments.map((s) => escapeSegment(s) + DIR_SUFFIX),
      escapeSegment(last) + RECORD_SUFFIX,
    ];
    for (const name of names) {
      if (Buffer.byteLength(name, "utf8") > MAX_NAME_BYTES)
        throw new ValidationError(
          `invalid archive key: the folder store keeps each key segment under ${MAX_NAME_BYTES - RECORD_SUFFIX.length} bytes`,
          [{ path: "key", message: "a segment is too long for a file name" }],
        );
    }
    const resolved = path.resolve(this.keysRoot, ...names);
    if (!resolved.startsWith(this.keysRoot + path.sep))
      throw new ValidationError("invalid archive key: it resolves outside the archive folder", [
        { path: "key", message: "resolves outside the archive folder" },
      ]);
    return resolved;
  }

  private blobPath(blob: string): string {
    return path.join(this.blobsRoot, blob);
  }

  // --- writing -----------------------------------------------------------------------------

  private async writeBlob(
    key: string,
    blobPath: string,
    body: ArchiveBody,
  ): Promise<{ sha256: string; size: number }> {
    const { chunks, digest } = hashingChunks(key, body);
    let handle: FileHandle;
    try {
      handle = await open(blobPath, "wx");
    } catch (error) {
      throw this.unavailable("writing", error);
    }
    try {
      for await (const chunk of chunks) {
        await this.io("writing", () => handle.write(chunk));
      }
      await this.io("writing", () => handle.sync());
    } finally {
      await handle.close().catch(() => undefined);
    }
    return digest();
  }

  /** Renames the record into place, recreating parent dirs a concurrent delete pruned. */
  private async commit(tmpRecord: string, recordPath: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await mkdir(path.dirname(recordPath), { recursive: true });
        await rename(tmpRecord, recordPath);
        return;
      } catch (error) {
        if (errnoCode(error) === "ENOENT" && attempt < RACE_ATTEMPTS) continue;
        if (errnoCode(error) === "ENAMETOOLONG")
          throw new ValidationError("invalid archive key: too long for this file system", [
            { path: "key", message: "too long for this file system" },
          ]);
        throw this.unavailable("writing", error);
      }
    }
  }

  private async removeBlob(blob: string): Promise<void> {
    if (!BLOB_REF.test(blob)) return;
    await rm(this.blobPath(blob), { force: true }).catch(() => undefined);
  }

  private async pruneEmptyDirs(from: string): Promise<void> {
    let dir = from;
    while (dir.startsWith(this.keysRoot + path.sep)) {
      try {
        await rmdir(dir);
      } catch {
        return; // not empty, or already gone: either way stop
      }
      dir = path.dirname(dir);
    }
  }

  // --- reading -----------------------------------------------------------------------------

  /** The record, or null when the key does not exist. Throws when the record is unreadable. */
  private async readRecordFile(file: string, key: string): Promise<StoredRecord | null> {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      if (isMissing(error)) return null;
      throw this.unavailable("reading", error);
    }
    return parseRecord(text, key);
  }

  /**
   * Opens the record and its blob. A concurrent overwrite may delete the blob between the two;
   * then the record is read again.
   */
  private async openObject(key: string): Promise<{ record: StoredRecord; handle: FileHandle }> {
    const recordPath = this.recordPath(key);
    for (let attempt = 1; ; attempt++) {
      const record = await this.readRecordFile(recordPath, key);
      if (!record) throw new NotFoundError(`archive object "${key}" not found`);
      try {
        return { record, handle: await open(this.blobPath(record.blob), "r") };
      } catch (error) {
        if (!isMissing(error)) throw this.unavailable("reading", error);
        const again = await this.readRecordFile(recordPath, key);
        if (again && again.blob !== record.blob && attempt < RACE_ATTEMPTS) continue;
        if (!again) throw new NotFoundError(`archive object "${key}" not found`);
        throw new ArchiveChecksumError(
          key,
          `archive object "${key}" failed verification: its content file is missing`,
        );
      }
    }
  }

  private async *walk(
    dir: string,
    keyPrefix: string,
    wanted: string,
  ): AsyncGenerator<ArchiveObjectInfo> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw this.unavailable("listing", error);
    }
    const items: { key: string; dir: boolean; name: string }[] = [];
    for (const entry of entries) {
      if (entry.isDirectory() && entry.name.endsWith(DIR_SUFFIX)) {
        const segment = unescapeSegment(entry.name.slice(0, -DIR_SUFFIX.length));
        items.push({ key: `${keyPrefix}${segment}/`, dir: true, name: entry.name });
      } else if (entry.isFile() && entry.name.endsWith(RECORD_SUFFIX)) {
        const segment = unescapeSegment(entry.name.slice(0, -RECORD_SUFFIX.length));
        items.push({ key: `${keyPrefix}${segment}`, dir: false, name: entry.name });
      }
    }
    // A directory sorts as its key prefix ("a/"), which gives S3's UTF-8 byte order overall.
    items.sort((a, b) => utf8Compare(a.key, b.key));
    for (const item of items) {
      if (item.dir) {
        if (item.key.startsWith(wanted) || wanted.startsWith(item.key))
          yield* this.walk(path.join(dir, item.name), item.key, wanted);
      } else if (item.key.startsWith(wanted)) {
        const record = await this.readRecordFile(path.join(dir, item.name), item.key);
        if (record) yield toInfo(record); // null: deleted since readdir
      }
    }
  }

  // --- errors ------------------------------------------------------------------------------

  private unavailable(action: string, error: unknown): unknown {
    if (error instanceof ArchiveChecksumError || error instanceof ValidationError) return error;
    const code = errnoCode(error);
    if (code === undefined) return error;
    return new UnavailableError(
      `archive folder ${this.root}: ${code} while ${action}`,
      "archive_unavailable",
      { cause: error },
    );
  }

  private async io<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.unavailable(action, error);
    }
  }
}

async function writeSynced(file: string, text: string): Promise<void> {
  const handle = await open(file, "wx");
  try {
    await handle.writeFile(text, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function parseRecord(text: string, key: string): StoredRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = null;
  }
  const r = value as Partial<StoredRecord> | null;
  const valid =
    r !== null &&
    typeof r === "object" &&
    r.v === 1 &&
    r.key === key &&
    typeof r.size === "number" &&
    Number.isSafeInteger(r.size) &&
    r.size >= 0 &&
    isSha256Hex(r.sha256) &&
    typeof r.contentType === "string" &&
    typeof r.lastModified === "string" &&
    !Number.isNaN(Date.parse(r.lastModified)) &&
    typeof r.metadata === "object" &&
    r.metadata !== null &&
    Object.values(r.metadata).every((v) => typeof v === "string") &&
    typeof r.blob === "string" &&
    BLOB_REF.test(r.blob);
  if (!valid)
    throw new ArchiveChecksumError(
      key,
      `archive object "${key}" failed verification: its record in the archive folder is unreadable`,
    );
  return r as StoredRecord;
}

function toInfo(record: StoredRecord): ArchiveObjectInfo {
  return {
    key: record.key,
    size: record.size,
    sha256: record.sha256,
    contentType: record.contentType,
    lastModified: new Date(record.lastModified),
    metadata: { ...record.metadata },
  };
}
