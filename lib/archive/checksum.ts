import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { BallastError, ValidationError } from "../errors";
import { MAX_OBJECT_BYTES } from "./keys";
import type { ArchiveBody } from "./types";

/** Stored bytes do not match the SHA-256 (or size) recorded when they were written. */
export class ArchiveChecksumError extends BallastError {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super("archive_checksum_mismatch", message, 500, false);
  }
}

export class ArchiveTooLargeError extends BallastError {
  constructor(key: string) {
    super(
      "archive_object_too_large",
      `archive object "${key}" exceeds the limit of ${MAX_OBJECT_BYTES} bytes`,
      413,
      false,
    );
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function isSha256Hex(value: unknown): value is string {
  return typeof value === "string" && SHA256_HEX.test(value);
}

export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export function md5Base64(data: Uint8Array): string {
  return createHash("md5").update(data).digest("base64");
}

function isStream(body: unknown): body is NodeJS.ReadableStream {
  return (
    typeof body === "object" &&
    body !== null &&
    !(body instanceof Uint8Array) &&
    typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function"
  );
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array)
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === "string") return Buffer.from(chunk, "utf8");
  throw new ValidationError("invalid archive body: a stream yielded a chunk that is not bytes", [
    { path: "body", message: "stream chunks must be Buffer, Uint8Array or string" },
  ]);
}

/** The body as bytes when it is not a stream (no copy for a Buffer). */
export function bodyBytes(body: ArchiveBody): Buffer | null {
  if (typeof body === "string") return Buffer.from(body, "utf8");
  if (body instanceof Uint8Array) return toBuffer(body);
  if (isStream(body)) return null;
  throw new ValidationError(
    "invalid archive body: expected a Buffer, Uint8Array, string or stream",
    [{ path: "body", message: "expected a Buffer, Uint8Array, string or readable stream" }],
  );
}

/** Checks the body's type without consuming it. */
export function assertBody(body: ArchiveBody): void {
  if (!isStream(body)) bodyBytes(body);
}

/**
 * The body as a sequence of Buffers, hashed and counted as they pass. Read `digest()` once the
 * iteration has finished. Throws ArchiveTooLargeError past MAX_OBJECT_BYTES.
 */
export function hashingChunks(
  key: string,
  body: ArchiveBody,
): { chunks: AsyncIterable<Buffer>; digest: () => { sha256: string; size: number } } {
  const hash = createHash("sha256");
  let size = 0;
  let done = false;
  const bytes = bodyBytes(body);
  async function* iterate(): AsyncGenerator<Buffer> {
    const source: AsyncIterable<unknown> | Iterable<unknown> =
      bytes === null ? (body as AsyncIterable<unknown>) : [bytes];
    for await (const raw of source) {
      const chunk = toBuffer(raw);
      if (chunk.length === 0) continue;
      size += chunk.length;
      if (size > MAX_OBJECT_BYTES) throw new ArchiveTooLargeError(key);
      hash.update(chunk);
      yield chunk;
    }
    done = true;
  }
  return {
    chunks: iterate(),
    digest: () => {
      if (!done) throw new Error("hashingChunks: digest() before the body was fully read");
      return { sha256: hash.digest("hex"), size };
    },
  };
}

export interface Expected {
  key: string;
  sha256: string;
  size: number;
}

function mismatch(expected: Expected, sha256: string, size: number): ArchiveChecksumError {
  return new ArchiveChecksumError(
    expected.key,
    `archive object "${expected.key}" failed verification: recorded sha256 ${expected.sha256} ` +
      `(${expected.size} bytes), read sha256 ${sha256} (${size} bytes)`,
  );
}

export function missingChecksum(key: string, where: string): ArchiveChecksumError {
  return new ArchiveChecksumError(
    key,
    `archive object "${key}" has no valid sha256 ${where}: it was not written by the archive store ` +
      "or its upload did not finish; it cannot be verified",
  );
}

/**
 * Passes the source through, hashing it, and fails at the end (before signalling the end) when
 * the content differs from what was recorded. Source errors go through `mapError`.
 */
export function verifyingStream(
  source: AsyncIterable<unknown>,
  expected: Expected,
  mapError: (error: unknown) => unknown = (error) => error,
): Readable {
  async function* verify(): AsyncGenerator<Buffer> {
    const hash = createHash("sha256");
    let size = 0;
    try {
      for await (const raw of source) {
        const chunk = toBuffer(raw);
        size += chunk.length;
        if (size > expected.size) throw mismatch(expected, "(longer than recorded)", size);
        hash.update(chunk);
        yield chunk;
      }
    } catch (error) {
      if (error instanceof BallastError) throw error;
      throw mapError(error);
    }
    const sha256 = hash.digest("hex");
    if (sha256 !== expected.sha256 || size !== expected.size)
      throw mismatch(expected, sha256, size);
  }
  return Readable.from(verify(), { objectMode: false });
}

/** Reads the whole source into memory, verified. */
export async function readVerified(
  source: AsyncIterable<unknown>,
  expected: Expected,
  mapError?: (error: unknown) => unknown,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of verifyingStream(source, expected, mapError))
    chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
