/**
 * Puts a dependency's adapter behind its circuit breaker: every call that reaches the
 * dependency goes through `breaker.run`. (The embedding providers do it per HTTP attempt in
 * lib/embedding/remote.ts; these wrap the GitHub source reader and the S3 archive store.)
 */
import type { ArchiveStore } from "../archive";
import type { SourceReader } from "../sources/types";
import type { CircuitBreaker } from "./breaker";

export function guardReader(reader: SourceReader, breaker: CircuitBreaker): SourceReader {
  return {
    kind: reader.kind,
    resolveHead: () => breaker.run(() => reader.resolveHead()),
    listFiles: (commit) => breaker.run(() => reader.listFiles(commit)),
    diff: (from, to) => breaker.run(() => reader.diff(from, to)),
    readBlobs: (entries) => breaker.run(() => reader.readBlobs(entries)),
  };
}

/** Reads and writes go through the breaker; `ping` does not (health must see the backend). */
export function guardArchive(archive: ArchiveStore, breaker: CircuitBreaker): ArchiveStore {
  return {
    backend: archive.backend,
    location: archive.location,
    put: (key, body, options) => breaker.run(() => archive.put(key, body, options)),
    get: (key) => breaker.run(() => archive.get(key)),
    getStream: (key) => breaker.run(() => archive.getStream(key)),
    head: (key) => breaker.run(() => archive.head(key)),
    list: (prefix) => archive.list(prefix),
    delete: (key) => breaker.run(() => archive.delete(key)),
    ping: () => archive.ping(),
  };
}
