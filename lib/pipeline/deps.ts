import { createHash } from "node:crypto";
import type { Database } from "../../db/client";
import type { ArchiveStore } from "../archive/types";
import { CHUNKER_VERSION, type ChunkOptions } from "../chunking";
import type { Config } from "../config";
import type { EmbeddingProvider } from "../embedding";
import { LEXICAL_VERSION } from "../index/lexical";
import type { Logger } from "../log/logger";
import type { RedisStore } from "../redis";
import type { BreakerRegistry } from "../resilience/breaker";
import { guardReader } from "../resilience/guard";
import type { CleanupSettings } from "../retention/cleanup";
import type { Runtime } from "../runtime";
import { urlPolicyFor } from "../security/source-access";
import type { UrlPolicy } from "../security/url-policy";
import { createSourceReader } from "../sources";
import type { SourceLocation, SourceReader } from "../sources/types";
import type { Tracer } from "../traces/tracer";
import type { SyncTiming } from "../workflows/sync-source";
import type { SourceRecord } from "./source-records";

/** What the pipeline needs from the runtime: the database, the embedder and a few settings. */
export interface PipelineDeps {
  /** The process driving a whole run here (`<host>:<pid>`, the CLI), recorded on the run it claims. */
  runOwner?: string;
  db: Database;
  embedder: EmbeddingProvider;
  log: Logger;
  chunking: ChunkOptions;
  batchSize: number;
  maxFileBytes: number;
  workDir: string;
  github: { apiUrl: string; token?: string; appId?: string; privateKey?: string };
  /** How GitHub readers make requests (the replay sandbox answers them from a bundle); default fetch. */
  githubFetch?: typeof fetch;
  /** maintenance_work_mem for vector index builds (the embedded database only). */
  indexBuildMemory?: string;
  /** Overrides of the sync workflow's waits (tests); production uses SYNC_TIMING. */
  syncTiming?: Partial<SyncTiming>;
  /** Where git remotes may be fetched from (OUTBOUND_* settings); default https to public addresses. */
  urlPolicy?: UrlPolicy;
  /** Build vector indexes with CREATE INDEX CONCURRENTLY (a shared Postgres, not PGlite). */
  concurrentIndexBuilds?: boolean;
  /**
   * VECTOR_INDEX_MIN_CHUNKS: a source gets its vector index from this many chunks; smaller
   * ones are searched exactly (lib/index/vector-index.ts). Unset or 0: every source is indexed.
   */
  vectorIndexMinChunks?: number;
  /** Upserts from which a run loads in bulk (default BULK_LOAD_MIN_DOCUMENTS in plan.ts). */
  bulkLoadMinDocuments?: number;
  /** Trace envelopes of workflow steps and external calls; unset → none recorded. */
  tracer?: Tracer;
  /** The archive store (the cleanup's archives). */
  archive?: ArchiveStore;
  /** Retention and approval settings of the cleanup. */
  retention?: CleanupSettings;
  /** Which database driver (the cleanup's maintenance depends on it). */
  databaseDriver?: "pglite" | "neon" | "pg";
  /** Circuit breakers of the external dependencies (GitHub reads go through `github`). */
  breakers?: BreakerRegistry;
  /** Redis (breakers, budgets, limits); the error-recovery workflow reads breaker state here. */
  redis?: RedisStore;
  /** Dead-letter queue settings (backoffBaseMs: tests shorten the per-entry backoff). */
  dlq?: { maxRecoveries: number; alertDepth: number; backoffBaseMs?: number };
  /** Inngest's app id (function ids are `<appId>-<workflow id>`). */
  appId?: string;
  /** Secret values to scrub from stored error messages. */
  secrets?: string[];
  /** The parity ledger (lib/ledger): off when LEDGER_ENABLED=false; secrets scrubbed from it. */
  ledger?: { enabled?: boolean; secrets?: readonly string[] };
  /** The whole configuration (the replay workflow's bundles and sandbox). */
  config?: Config;
}

export function pipelineDeps(runtime: Runtime): PipelineDeps {
  const { config } = runtime;
  return {
    db: runtime.db,
    embedder: runtime.embedder,
    log: runtime.log,
    tracer: runtime.tracer,
    archive: runtime.archive,
    retention: { traces: config.traces, cleanup: config.cleanup, ledger: config.ledger },
    databaseDriver: config.database.driver,
    chunking: config.chunking,
    batchSize: config.sync.batchSize,
    maxFileBytes: config.sync.maxFileBytes,
    workDir: config.sync.workDir,
    indexBuildMemory: config.database.driver === "pglite" ? "512MB" : undefined,
    urlPolicy: urlPolicyFor(config),
    concurrentIndexBuilds: config.database.driver !== "pglite",
    vectorIndexMinChunks: config.search.vectorIndexMinChunks,
    breakers: runtime.breakers,
    redis: runtime.redis,
    dlq: config.resilience.dlq,
    appId: config.inngest.appId,
    secrets: config.secrets,
    ledger: { enabled: config.ledger.enabled, secrets: config.secrets },
    config,
    github: {
      apiUrl: config.github.apiUrl,
      token: config.github.token,
      appId: config.github.appId,
      privateKey: config.github.privateKey,
    },
  };
}

export function readerFor(deps: PipelineDeps, source: SourceRecord): SourceReader {
  return readerForLocation(
    deps,
    { kind: source.kind, location: source.location, branch: source.branch ?? undefined },
    source.githubInstallationId ?? undefined,
  );
}

/** The reader a run's batches share (see batchReader). */
const batchReaders = new WeakMap<
  PipelineDeps,
  { key: string; reader: SourceReader; openedAt: number }
>();
/** How long a run's batches reuse one reader (its resolved repository, its credentials). */
export const BATCH_READER_TTL_MS = 5 * 60_000;

/**
 * The reader for a batch of a run: the previous batch's when it was for the same run and
 * source location and is recent, so each batch does not re-resolve the repository (two git
 * processes per batch on a local source, each a fork of this whole process). One reader per
 * deps is kept: the next run replaces it.
 */
export function batchReader(deps: PipelineDeps, runId: string, source: SourceRecord): SourceReader {
  const key = JSON.stringify([
    runId,
    source.id,
    source.kind,
    source.location,
    source.branch ?? null,
    source.githubInstallationId ?? null,
  ]);
  const cached = batchReaders.get(deps);
  if (cached && cached.key === key && Date.now() - cached.openedAt < BATCH_READER_TTL_MS)
    return cached.reader;
  const reader = readerFor(deps, source);
  batchReaders.set(deps, { key, reader, openedAt: Date.now() });
  return reader;
}

export function readerForLocation(
  deps: PipelineDeps,
  location: SourceLocation,
  installationId?: number,
): SourceReader {
  const reader = createSourceReader(location, {
    workDir: deps.workDir,
    github: { ...deps.github, installationId },
    fetch: deps.githubFetch,
    log: deps.log,
    urlPolicy: deps.urlPolicy,
  });
  return location.kind === "github" && deps.breakers
    ? guardReader(reader, deps.breakers.get("github"))
    : reader;
}

/**
 * Identifies everything that shapes a document's chunks and vectors. A document indexed
 * under another hash is re-chunked and re-embedded; nothing else is.
 */
export function indexConfigHash(deps: Pick<PipelineDeps, "chunking" | "embedder">): string {
  return createHash("sha256")
    .update(
      JSON.stringify({
        chunker: CHUNKER_VERSION,
        size: deps.chunking.size,
        overlap: deps.chunking.overlap,
        space: deps.embedder.space,
        lexical: LEXICAL_VERSION,
      }),
    )
    .digest("hex")
    .slice(0, 16);
}

/** Stable chunk id: same source, path, config and content → same id, across runs and machines. */
export function chunkId(
  sourceId: string,
  path: string,
  configHash: string,
  contentHash: string,
  occurrence: number,
): string {
  return createHash("sha256")
    .update(`${sourceId}\0${path}\0${configHash}\0${contentHash}\0${occurrence}`)
    .digest("hex")
    .slice(0, 32);
}
