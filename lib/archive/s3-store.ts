/**
 * The production archive store: any S3-compatible bucket (AWS S3, R2, MinIO; s3rver in tests).
 *
 * Every object carries the hex SHA-256 of its content in the user metadata `sha256`, and
 * every read checks the bytes against it (and against the recorded length).
 *
 * Uploads (no @aws-sdk/lib-storage here; the client does it all):
 * - Buffers and strings (already in memory), and streams that end within the first part: one
 *   PutObject with a known Content-Length and a Content-MD5 (S3 rejects bytes damaged in transit).
 * - Longer streams: read part by part (memory: at most two parts), multipart-uploaded to a
 *   staging key under `<prefix>.ballast-staging/`, then CopyObject onto the real key with the
 *   sha256 (known only at the end) in fresh metadata, then the staging object is deleted. The
 *   real key appears atomically, complete and with its checksum, or not at all. A failed upload
 *   is aborted; a crash can leave an incomplete upload or a staging object, which a bucket
 *   lifecycle rule on that prefix should expire.
 *
 * The SDK is built with requestChecksumCalculation/responseChecksumValidation WHEN_REQUIRED:
 * with the defaults, s3rver stores streamed uploads corrupted (STACK-NOTES), and our own SHA-256
 * covers end-to-end integrity anyway.
 */
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { BallastError, NotFoundError, UnavailableError, ValidationError } from "../errors";
import { createScrubber } from "../log/scrub";
import { elapsedMs } from "../timing";
import {
  ArchiveChecksumError,
  ArchiveTooLargeError,
  bodyBytes,
  hashingChunks,
  isSha256Hex,
  md5Base64,
  missingChecksum,
  readVerified,
  sha256Hex,
  verifyingStream,
} from "./checksum";
import {
  isReservedKey,
  MAX_KEY_BYTES,
  MAX_OBJECT_BYTES,
  RESERVED_SEGMENT,
  SHA256_METADATA_KEY,
  validateKey,
  validatePrefix,
  validatePutOptions,
} from "./keys";
import type {
  ArchiveBody,
  ArchiveObjectInfo,
  ArchiveStore,
  PutOptions,
  S3ArchiveOptions,
} from "./types";

const MIB = 1024 * 1024;
const MIN_PART_SIZE = 5 * MIB;
const MAX_PARTS = 10_000;
const HEAD_CONCURRENCY = 8;

function normalisePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, "");
  return trimmed === "" || trimmed.endsWith("/") ? trimmed : `${trimmed}/`;
}

function encodeCopySource(bucket: string, key: string): string {
  return `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: "client" | "server";
  $retryable?: unknown;
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "ERR_STREAM_PREMATURE_CLOSE",
]);
const RETRYABLE_NAMES = new Set([
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeTooSkewed",
  "SlowDown",
  "ServiceUnavailable",
  "InternalError",
  "Throttling",
  "ThrottlingException",
]);

export class S3ArchiveStore implements ArchiveStore {
  readonly backend = "s3" as const;
  readonly location: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly pageSize: number;
  private readonly partSize: number;
  private readonly host: string;
  private readonly scrub: (text: string) => string;

  constructor(options: Omit<S3ArchiveOptions, "backend">) {
    const issues: { path: string; message: string }[] = [];
    if (typeof options.bucket !== "string" || options.bucket === "")
      issues.push({ path: "bucket", message: "is required" });
    if (typeof options.region !== "string" || options.region === "")
      issues.push({ path: "region", message: "is required" });
    if ((options.accessKeyId === undefined) !== (options.secretAccessKey === undefined))
      issues.push({ path: "accessKeyId", message: "accessKeyId and secretAccessKey go together" });
    const pageSize = options.pageSize ?? 1000;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000)
      issues.push({ path: "pageSize", message: "must be an integer from 1 to 1000" });
    const partSize = options.partSize ?? 8 * MIB;
    if (!Number.isInteger(partSize) || partSize < MIN_PART_SIZE)
      issues.push({ path: "partSize", message: `must be an integer of at least ${MIN_PART_SIZE}` });
    let host = "";
    if (options.endpoint !== undefined) {
      try {
        host = new URL(options.endpoint).host;
      } catch {
        issues.push({ path: "endpoint", message: "must be a URL" });
      }
    }
    if (issues.length > 0)
      throw new ValidationError(
        `invalid S3 archive options: ${issues.map((i) => `${i.path} ${i.message}`).join("; ")}`,
        issues,
      );

    this.bucket = options.bucket;
    this.prefix = normalisePrefix(options.prefix ?? "");
    this.pageSize = pageSize;
    this.partSize = partSize;
    this.host = host || `s3.${options.region}.amazonaws.com`;
    this.location = `s3://${this.bucket}/${this.prefix}${host ? ` via ${host}` : ""}`;
    this.scrub = createScrubber(
      [options.accessKeyId, options.secretAccessKey].filter(
        (s): s is string => typeof s === "string",
      ),
    );

    const config: S3ClientConfig = {
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      maxAttempts: options.maxAttempts ?? 3,
      requestHandler: {
        connectionTimeout: options.connectionTimeoutMs ?? 5000,
        requestTimeout: options.requestTimeoutMs ?? 60_000,
      },
    };
    if (options.endpoint !== undefined) config.endpoint = options.endpoint;
    if (options.accessKeyId !== undefined && options.secretAccessKey !== undefined)
      config.credentials = {
        accessKeyId: options.accessKeyId,
        secretAccessKey: options.secretAccessKey,
      };
    this.client = new S3Client(config);
  }

  async put(key: string, body: ArchiveBody, options?: PutOptions): Promise<ArchiveObjectInfo> {
    validateKey(key);
    const valid = validatePutOptions(options, body);
    const bytes = bodyBytes(body);
    const objectKey = this.objectKey(key);
    if (bytes !== null) {
      // Already in memory: one PutObject, whatever the size (S3 takes up to 5 GiB).
      if (bytes.length > MAX_OBJECT_BYTES) throw new ArchiveTooLargeError(key);
      return this.putOnce(key, objectKey, bytes, sha256Hex(bytes), valid);
    }
    const { chunks, digest } = hashingChunks(key, body);
    const iterator = chunks[Symbol.asyncIterator]();
    const first = await readPart(iterator, this.partSize);
    if (first.done) return this.putOnce(key, objectKey, first.part, digest().sha256, valid);
    const { sha256, size } = await this.multipart(key, first.part, iterator, digest, valid);
    return this.confirm(key, sha256, size);
  }

  private async putOnce(
    key: string,
    objectKey: string,
    bytes: Buffer,
    sha256: string,
    valid: { contentType: string; metadata: Record<string, string> },
  ): Promise<ArchiveObjectInfo> {
    await this.send("put", key, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          Body: bytes,
          ContentLength: bytes.length,
          ContentMD5: md5Base64(bytes),
          ContentType: valid.contentType,
          Metadata: { ...valid.metadata, [SHA256_METADATA_KEY]: sha256 },
        }),
      ),
    );
    return this.confirm(key, sha256, bytes.length);
  }

  async get(key: string): Promise<{ info: ArchiveObjectInfo; body: Buffer }> {
    const { info, source } = await this.open(key);
    const body = await readVerified(source, info, (error) => this.mapError(error, "get", key));
    return { info, body };
  }

  async getStream(key: string): Promise<{ info: ArchiveObjectInfo; stream: Readable }> {
    const { info, source } = await this.open(key);
    return {
      info,
      stream: verifyingStream(source, info, (error) => this.mapError(error, "get", key)),
    };
  }

  async head(key: string): Promise<ArchiveObjectInfo | null> {
    validateKey(key);
    return this.headObject(key);
  }

  async *list(prefix?: string): AsyncIterable<ArchiveObjectInfo> {
    const wanted = validatePrefix(prefix);
    let token: string | undefined;
    do {
      const page = await this.send("list", wanted, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + wanted,
            MaxKeys: this.pageSize,
            ContinuationToken: token,
          }),
        ),
      );
      const keys = (page.Contents ?? [])
        .map((entry) => entry.Key)
        .filter((k): k is string => typeof k === "string" && k.startsWith(this.prefix))
        .map((k) => k.slice(this.prefix.length))
        .filter((k) => !isReservedKey(k));
      // ListObjectsV2 carries no user metadata: HEAD each object, a few at a time, in order.
      const infos = await mapLimit(keys, HEAD_CONCURRENCY, (k) => this.headObject(k));
      for (const info of infos) if (info) yield info; // null: deleted since the listing
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<boolean> {
    validateKey(key);
    // S3 answers 204 whether or not the key existed; HEAD first to tell the caller.
    const existed = (await this.headObject(key)) !== null;
    if (!existed) return false;
    await this.send("delete", key, () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) })),
    );
    return true;
  }

  async ping(): Promise<{ latencyMs: number }> {
    const started = performance.now();
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      if (isNotFound(error)) throw this.missingBucket("ping", error);
      throw this.mapError(error, "ping", "");
    }
    return { latencyMs: elapsedMs(started) };
  }

  /** Releases the client's sockets. */
  destroy(): void {
    this.client.destroy();
  }

  // --- internals ---------------------------------------------------------------------------

  private objectKey(key: string): string {
    const full = this.prefix + key;
    if (Buffer.byteLength(full, "utf8") > MAX_KEY_BYTES)
      throw new ValidationError(
        `invalid archive key: with the store prefix "${this.prefix}" it exceeds ${MAX_KEY_BYTES} bytes`,
        [{ path: "key", message: `prefix + key exceed ${MAX_KEY_BYTES} bytes` }],
      );
    return full;
  }

  private async multipart(
    key: string,
    firstPart: Buffer,
    rest: AsyncIterator<Buffer>,
    digest: () => { sha256: string; size: number },
    valid: { contentType: string; metadata: Record<string, string> },
  ): Promise<{ sha256: string; size: number }> {
    const stagingKey = `${this.prefix}${RESERVED_SEGMENT}/${randomUUID()}`;
    const created = await this.send("put", key, () =>
      this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key: stagingKey,
          ContentType: valid.contentType,
        }),
      ),
    );
    const uploadId = created.UploadId;
    if (!uploadId)
      throw new UnavailableError("S3 started no multipart upload", "archive_unavailable");

    const parts: { PartNumber: number; ETag: string }[] = [];
    let inflight: Promise<void> | null = null;
    let completed = false;
    const uploadPart = async (partNumber: number, part: Buffer): Promise<void> => {
      const result = await this.send("put", key, () =>
        this.client.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: stagingKey,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: part,
            ContentLength: part.length,
            ContentMD5: md5Base64(part),
          }),
        ),
      );
      if (!result.ETag)
        throw new UnavailableError("S3 returned no ETag for a part", "archive_unavailable");
      parts.push({ PartNumber: partNumber, ETag: result.ETag });
    };

    try {
      let partNumber = 1;
      let next: { part: Buffer; done: boolean } = { part: firstPart, done: false };
      for (;;) {
        if (partNumber > MAX_PARTS)
          throw new ValidationError(`archive object "${key}" needs more than ${MAX_PARTS} parts`, [
            { path: "partSize", message: "too small for this object" },
          ]);
        // Upload this part while reading the next one: at most two parts in memory.
        const upload = uploadPart(partNumber, next.part);
        upload.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile
        if (inflight) await inflight;
        inflight = upload;
        if (next.done) break;
        next = await readPart(rest, this.partSize);
        partNumber++;
        if (next.part.length === 0 && next.done) break;
      }
      await inflight;
      const { sha256, size } = digest();
      parts.sort((a, b) => a.PartNumber - b.PartNumber);
      const done = await this.send("put", key, () =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: stagingKey,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
        ),
      );
      completed = true;
      await this.send("put", key, () =>
        this.client.send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: this.objectKey(key),
            CopySource: encodeCopySource(this.bucket, stagingKey),
            CopySourceIfMatch: done.ETag,
            MetadataDirective: "REPLACE",
            ContentType: valid.contentType,
            Metadata: { ...valid.metadata, [SHA256_METADATA_KEY]: sha256 },
          }),
        ),
      );
      return { sha256, size };
    } catch (error) {
      if (inflight) await inflight.catch(() => undefined);
      if (!completed) {
        await this.client
          .send(
            new AbortMultipartUploadCommand({
              Bucket: this.bucket,
              Key: stagingKey,
              UploadId: uploadId,
            }),
          )
          .catch(() => undefined);
      }
      throw error;
    } finally {
      if (completed) {
        await this.client
          .send(new DeleteObjectCommand({ Bucket: this.bucket, Key: stagingKey }))
          .catch(() => undefined);
      }
    }
  }

  /** HEAD after a write: the info to return, and proof that size and checksum were stored. */
  private async confirm(key: string, sha256: string, size: number): Promise<ArchiveObjectInfo> {
    const info = await this.headObject(key);
    if (!info)
      throw new UnavailableError(
        `archive object "${key}" is not visible after its upload`,
        "archive_unavailable",
      );
    if (info.sha256 !== sha256 || info.size !== size)
      throw new ArchiveChecksumError(
        key,
        `archive object "${key}" was stored wrongly: sent ${size} bytes with sha256 ${sha256}, ` +
          `the bucket reports ${info.size} bytes with sha256 ${info.sha256 || "(none)"}`,
      );
    return info;
  }

  private async headObject(key: string): Promise<ArchiveObjectInfo | null> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      );
      return toInfo(key, head);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw this.mapError(error, "head", key);
    }
  }

  private async open(
    key: string,
  ): Promise<{ info: ArchiveObjectInfo; source: AsyncIterable<unknown> }> {
    validateKey(key);
    let response: GetObjectCommandOutput;
    try {
      response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      );
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError(`archive object "${key}" not found`);
      throw this.mapError(error, "get", key);
    }
    const body = response.Body;
    const info = toInfo(key, response);
    if (!(body instanceof Readable)) {
      throw new UnavailableError("S3 returned no readable body", "archive_unavailable");
    }
    if (!isSha256Hex(info.sha256)) {
      body.destroy();
      throw missingChecksum(key, "metadata");
    }
    return { info, source: body };
  }

  private async send<T>(action: string, key: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.mapError(error, action, key);
    }
  }

  private missingBucket(action: string, error: unknown, key = ""): BallastError {
    const name = (error as SdkError | null)?.name ?? "Error";
    return new BallastError(
      "archive_misconfigured",
      `archive ${action}${key ? ` "${key}"` : ""} failed: bucket ${this.bucket} does not exist (${this.location})`,
      500,
      false,
      undefined,
      { cause: Object.assign(new Error(`${name}: no such bucket`), { name }) },
    );
  }

  private mapError(error: unknown, action: string, key: string): unknown {
    if (error instanceof BallastError) return error;
    const e = (error ?? {}) as SdkError;
    const status = e.$metadata?.httpStatusCode;
    const name = typeof e.name === "string" ? e.name : "Error";
    const code = typeof e.code === "string" ? e.code : undefined;
    const what = `archive ${action}${key ? ` "${key}"` : ""} on ${this.location}`;
    const detail = this.scrub(
      [name !== "Error" ? name : undefined, code, status ? `HTTP ${status}` : undefined, e.message]
        .filter(Boolean)
        .join(", "),
    );
    // The SDK's error objects carry request details (access key id, string to sign): keep only
    // a scrubbed summary as the cause.
    const cause = Object.assign(new Error(detail), { name });
    const network =
      status === undefined &&
      (NETWORK_CODES.has(code ?? "") ||
        RETRYABLE_NAMES.has(name) ||
        e.$fault === "server" ||
        /socket|ECONN|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|network|timed? ?out/i.test(e.message ?? ""));
    if (network)
      return new UnavailableError(
        `${what} failed: cannot reach ${this.host} (${detail})`,
        "archive_unavailable",
        {
          cause,
        },
      );
    if (
      status !== undefined &&
      (status >= 500 || status === 429 || status === 408 || RETRYABLE_NAMES.has(name))
    )
      return new UnavailableError(`${what} failed: S3 answered ${detail}`, "archive_unavailable", {
        cause,
      });
    if (
      status === 403 ||
      name === "AccessDenied" ||
      name === "InvalidAccessKeyId" ||
      name === "SignatureDoesNotMatch"
    )
      return new BallastError(
        "archive_access_denied",
        `${what} was refused: ${detail}`,
        500,
        false,
        undefined,
        {
          cause,
        },
      );
    if (name === "NoSuchBucket") return this.missingBucket(action, error, key);
    if (status === undefined && !(error && typeof error === "object" && "$metadata" in error))
      return error; // not from the SDK (e.g. the caller's body stream failed): pass it on
    return new BallastError("archive_error", `${what} failed: ${detail}`, 500, false, undefined, {
      cause,
    });
  }
}

function isNotFound(error: unknown): boolean {
  const e = error as SdkError | null;
  return e?.name === "NotFound" || e?.name === "NoSuchKey" || e?.$metadata?.httpStatusCode === 404;
}

function toInfo(
  key: string,
  response: {
    ContentLength?: number;
    ContentType?: string;
    LastModified?: Date;
    Metadata?: Record<string, string>;
  },
): ArchiveObjectInfo {
  const metadata: Record<string, string> = {};
  let sha256 = "";
  for (const [name, value] of Object.entries(response.Metadata ?? {})) {
    if (name.toLowerCase() === SHA256_METADATA_KEY) sha256 = value;
    else metadata[name] = value;
  }
  return {
    key,
    size: response.ContentLength ?? 0,
    sha256,
    contentType: response.ContentType ?? "application/octet-stream",
    lastModified: response.LastModified ?? new Date(0),
    metadata,
  };
}

/** Pulls chunks until at least `size` bytes (or the end). */
async function readPart(
  iterator: AsyncIterator<Buffer>,
  size: number,
): Promise<{ part: Buffer; done: boolean }> {
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < size) {
    const next = await iterator.next();
    if (next.done) return { part: Buffer.concat(chunks, length), done: true };
    chunks.push(next.value);
    length += next.value.length;
  }
  return { part: Buffer.concat(chunks, length), done: false };
}

async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let index = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (index < items.length) {
      const i = index++;
      results[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
  return results;
}
