import type { Readable } from "node:stream";
import type { ArchiveBody, ArchiveObjectInfo, ArchiveStore, PutOptions } from "../archive/types";
import { type Tracer, traceExternal } from "./tracer";

/**
 * The archive store with a span per call (`archive.put`, `archive.get`, …): backend, key and
 * sizes, never the bytes. Listing is not traced (it is a cursor, not a call).
 */
export class TracedArchiveStore implements ArchiveStore {
  constructor(
    private readonly inner: ArchiveStore,
    private readonly tracer?: Tracer,
  ) {}

  get backend() {
    return this.inner.backend;
  }

  get location() {
    return this.inner.location;
  }

  /** The store without tracing (tests that tamper with it). */
  get unwrapped(): ArchiveStore {
    return this.inner;
  }

  private call<T>(
    op: string,
    key: string,
    fn: () => Promise<T>,
    output?: (r: T) => Record<string, unknown>,
  ) {
    return traceExternal(`archive.${op}`, fn, {
      tracer: this.tracer,
      attributes: { backend: this.inner.backend, key },
      output,
    });
  }

  put(key: string, body: ArchiveBody, options?: PutOptions): Promise<ArchiveObjectInfo> {
    return this.call(
      "put",
      key,
      () => this.inner.put(key, body, options),
      (info) => ({
        bytes: info.size,
        sha256: info.sha256.slice(0, 16),
      }),
    );
  }

  get(key: string): Promise<{ info: ArchiveObjectInfo; body: Buffer }> {
    return this.call(
      "get",
      key,
      () => this.inner.get(key),
      (r) => ({ bytes: r.info.size }),
    );
  }

  getStream(key: string): Promise<{ info: ArchiveObjectInfo; stream: Readable }> {
    return this.call(
      "open",
      key,
      () => this.inner.getStream(key),
      (r) => ({
        bytes: r.info.size,
      }),
    );
  }

  head(key: string): Promise<ArchiveObjectInfo | null> {
    return this.call(
      "head",
      key,
      () => this.inner.head(key),
      (r) => ({ found: r !== null }),
    );
  }

  list(prefix?: string): AsyncIterable<ArchiveObjectInfo> {
    return this.inner.list(prefix);
  }

  delete(key: string): Promise<boolean> {
    return this.call(
      "delete",
      key,
      () => this.inner.delete(key),
      (r) => ({ existed: r }),
    );
  }

  ping(): Promise<{ latencyMs: number }> {
    return this.inner.ping();
  }
}

/** The subcommand of a git invocation (after its global options), for a span's name. */
export function gitSubcommand(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "-c" || arg === "-C" || arg === "--git-dir" || arg === "--work-tree") {
      i++;
      continue;
    }
    if (arg.startsWith("-")) continue;
    return /^[a-z][a-z-]{0,30}$/.test(arg) ? arg : "other";
  }
  return "other";
}
