/**
 * The archive store: trace archives and other immutable objects, in S3 (any S3-compatible
 * endpoint) in production or a folder under `.data/` in development. Content is SHA-256
 * checksummed on write and verified on every read. See folder-store.ts and s3-store.ts.
 */
import { FolderArchiveStore } from "./folder-store";
import { S3ArchiveStore } from "./s3-store";
import type { ArchiveStore, FolderArchiveOptions, S3ArchiveOptions } from "./types";

export { ArchiveChecksumError, ArchiveTooLargeError } from "./checksum";
export { FolderArchiveStore } from "./folder-store";
export {
  MAX_KEY_BYTES,
  MAX_METADATA_BYTES,
  MAX_OBJECT_BYTES,
  RESERVED_SEGMENT,
  validateKey,
  validatePrefix,
} from "./keys";
export { S3ArchiveStore } from "./s3-store";
export type {
  ArchiveBody,
  ArchiveObjectInfo,
  ArchiveStore,
  ArchiveStoreOptions,
  FolderArchiveOptions,
  PutOptions,
  S3ArchiveOptions,
} from "./types";

export function createArchiveStore(options: FolderArchiveOptions): FolderArchiveStore;
export function createArchiveStore(options: S3ArchiveOptions): S3ArchiveStore;
export function createArchiveStore(options: FolderArchiveOptions | S3ArchiveOptions): ArchiveStore;
export function createArchiveStore(options: FolderArchiveOptions | S3ArchiveOptions): ArchiveStore {
  if (options.backend === "folder") return new FolderArchiveStore({ dir: options.dir });
  if (options.backend === "s3") {
    const { backend: _backend, ...s3 } = options;
    return new S3ArchiveStore(s3);
  }
  throw new TypeError(
    `unknown archive backend ${JSON.stringify((options as { backend?: unknown }).backend)}`,
  );
}
