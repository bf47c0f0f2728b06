import type { Readable } from "node:stream";

/** What is known about a stored object without reading its bytes. */
export interface ArchiveObjectInfo {
  /** The key as given to put() (without the store's prefix). */
  key: string;
  size: number;
  /** Hex SHA-256 of the content, computed while writing and checked on every read. */
  sha256: string;
  contentType: string;
  lastModified: Date;
  /** User metadata: lowercase names, printable ASCII values. Never includes `sha256`. */
  metadata: Record<string, string>;
}

export interface PutOptions {
  /** Default: `text/plain; charset=utf-8` for string bodies, `application/octet-stream` otherwise. */
  contentType?: string;
  metadata?: Record<string, string>;
}

/** Strings are stored as UTF-8. Streams are read once, chunk by chunk (never buffered whole). */
export type ArchiveBody = Buffer | Uint8Array | string | NodeJS.ReadableStream;

export interface ArchiveStore {
  readonly backend: "s3" | "folder";
  /** `folder <abs dir>` or `s3://bucket/prefix` (plus ` via host` for a custom endpoint). No secrets. */
  readonly location: string;
  put(key: string, body: ArchiveBody, options?: PutOptions): Promise<ArchiveObjectInfo>;
  /** Reads the whole object and verifies size and SHA-256 before returning. */
  get(key: string): Promise<{ info: ArchiveObjectInfo; body: Buffer }>;
  /** The stream errors (after the last byte) when the content does not match its checksum. */
  getStream(key: string): Promise<{ info: ArchiveObjectInfo; stream: Readable }>;
  head(key: string): Promise<ArchiveObjectInfo | null>;
  /** Objects whose key starts with `prefix`, in UTF-8 byte order, fetched page by page. */
  list(prefix?: string): AsyncIterable<ArchiveObjectInfo>;
  /** false when the key did not exist. */
  delete(key: string): Promise<boolean>;
  /** Reaches the backend (HeadBucket / the folder is writable). */
  ping(): Promise<{ latencyMs: number }>;
}

export interface FolderArchiveOptions {
  backend: "folder";
  dir: string;
}

export interface S3ArchiveOptions {
  backend: "s3";
  bucket: string;
  region: string;
  /** S3-compatible endpoint (R2, MinIO, s3rver). Unset → AWS. */
  endpoint?: string;
  forcePathStyle: boolean;
  /** Both or neither; neither → the AWS SDK's default credential chain. */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Key prefix inside the bucket; normalised to "" or "something/". */
  prefix: string;
  /** ListObjectsV2 page size, 1..1000. Default 1000. */
  pageSize?: number;
  /**
   * Streams are uploaded in parts of this size (min 5 MiB, the S3 minimum). A stream that ends
   * within the first part is sent as one PutObject. Default 8 MiB.
   */
  partSize?: number;
  /** SDK attempts per request (network errors, 5xx, throttling). Default 3. */
  maxAttempts?: number;
  /** Default 5000. */
  connectionTimeoutMs?: number;
  /** Socket inactivity timeout per request. Default 60000. */
  requestTimeoutMs?: number;
}

export type ArchiveStoreOptions = FolderArchiveOptions | S3ArchiveOptions;
