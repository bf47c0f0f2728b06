import { ValidationError } from "../errors";
import type { ArchiveBody, PutOptions } from "./types";

export const MAX_KEY_BYTES = 1024;
/** S3's limit for a single PUT and for CopyObject; both backends enforce it. */
export const MAX_OBJECT_BYTES = 5 * 1024 ** 3;
/** S3 allows 2 KB of user metadata (names + values); Ballast's own `sha256` entry is counted. */
export const MAX_METADATA_BYTES = 2048;
/** The first key segment reserved for the store's own bookkeeping (S3 multipart staging). */
export const RESERVED_SEGMENT = ".ballast-staging";
export const SHA256_METADATA_KEY = "sha256";

const CONTROL = /[\p{Cc}\p{Cs}]/u;
const METADATA_NAME = /^[a-z0-9][a-z0-9._-]*$/;
const METADATA_VALUE = /^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$/;
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const CONTENT_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:\\s*;[\\x20-\\x7e]*)?$`);

function invalid(path: string, message: string): ValidationError {
  return new ValidationError(`invalid archive ${path}: ${message}`, [{ path, message }]);
}

function describe(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/**
 * A key is 1..1024 UTF-8 bytes of slash-separated segments: no leading, trailing or doubled
 * slash, no `.` or `..` segment, no control characters, and not under the reserved segment.
 */
export function validateKey(key: unknown): string {
  if (typeof key !== "string") throw invalid("key", "must be a string");
  if (key.length === 0) throw invalid("key", "must not be empty");
  if (CONTROL.test(key))
    throw invalid("key", `${describe(key)} contains a control character or a lone surrogate`);
  const bytes = Buffer.byteLength(key, "utf8");
  if (bytes > MAX_KEY_BYTES)
    throw invalid("key", `is ${bytes} bytes long; the limit is ${MAX_KEY_BYTES}`);
  if (key.startsWith("/")) throw invalid("key", `${describe(key)} must be relative (no leading /)`);
  const segments = key.split("/");
  if (segments.some((s) => s === ""))
    throw invalid("key", `${describe(key)} has an empty segment (trailing or doubled /)`);
  if (segments.some((s) => s === "." || s === ".."))
    throw invalid("key", `${describe(key)} has a . or .. segment`);
  if (segments[0] === RESERVED_SEGMENT)
    throw invalid("key", `keys under ${RESERVED_SEGMENT}/ are reserved for the archive store`);
  return key;
}

/** A list prefix: any string a key could start with ("" lists everything). */
export function validatePrefix(prefix: unknown): string {
  if (prefix === undefined) return "";
  if (typeof prefix !== "string") throw invalid("prefix", "must be a string");
  if (CONTROL.test(prefix))
    throw invalid("prefix", `${describe(prefix)} contains a control character or a lone surrogate`);
  if (Buffer.byteLength(prefix, "utf8") > MAX_KEY_BYTES)
    throw invalid("prefix", `is longer than ${MAX_KEY_BYTES} bytes`);
  if (prefix.startsWith("/")) throw invalid("prefix", "must be relative (no leading /)");
  return prefix;
}

export function isReservedKey(key: string): boolean {
  return key === RESERVED_SEGMENT || key.startsWith(`${RESERVED_SEGMENT}/`);
}

export interface ValidPutOptions {
  contentType: string;
  metadata: Record<string, string>;
}

/**
 * Metadata names are lowercase header tokens (S3 lowercases them anyway), values printable
 * ASCII without surrounding spaces (anything else does not survive an HTTP header round trip).
 */
export function validatePutOptions(
  options: PutOptions | undefined,
  body: ArchiveBody,
): ValidPutOptions {
  const contentType =
    options?.contentType ??
    (typeof body === "string" ? "text/plain; charset=utf-8" : "application/octet-stream");
  if (
    typeof contentType !== "string" ||
    contentType.length > 255 ||
    !CONTENT_TYPE.test(contentType)
  )
    throw invalid(
      "contentType",
      `${describe(String(contentType))} is not a media type like type/subtype`,
    );

  const metadata: Record<string, string> = {};
  let metadataBytes = SHA256_METADATA_KEY.length + 64;
  const given = options?.metadata ?? {};
  if (typeof given !== "object" || given === null || Array.isArray(given))
    throw invalid("metadata", "must be an object of string values");
  for (const [name, value] of Object.entries(given)) {
    const path = `metadata.${name}`;
    if (!METADATA_NAME.test(name))
      throw invalid(path, "names must be lowercase letters, digits, '.', '_' or '-'");
    if (name === SHA256_METADATA_KEY)
      throw invalid(path, `${SHA256_METADATA_KEY} is written by the archive store itself`);
    if (typeof value !== "string") throw invalid(path, "must be a string");
    if (!METADATA_VALUE.test(value))
      throw invalid(path, "values must be printable ASCII without leading or trailing spaces");
    metadataBytes += name.length + value.length;
    metadata[name] = value;
  }
  if (metadataBytes > MAX_METADATA_BYTES)
    throw invalid(
      "metadata",
      `is ${metadataBytes} bytes with the store's sha256 entry; the limit is ${MAX_METADATA_BYTES}`,
    );
  return { contentType, metadata };
}
