import { createHash } from "node:crypto";
import type { Database } from "../../db/client";
import { CHUNKER_VERSION, type ChunkOptions } from "../chunking";
import type { Config } from "../config";
import type { EmbeddingProvider } from "../embedding";
import { LEXICAL_VERSION } from "../index/lexical";
import type { Logger } from "../log/logger";
import type { RedisStore } from "../redis";
import type { Runtime } from "../runtime";
import { urlPolicyFor } from "../security/source-access";
import type { UrlPolicy } from "../security/url-policy";
import { createSourceReader } from "../sources";
import type { SourceLocation, SourceReader } from "../sources/types";
import type { SyncTiming } from "../workflows/sync-source";
import type { SourceRecord } from "./source-records";

/** What the pipeline needs from the runtime: the database, the embedder and a few settings. */
export interface PipelineDeps {
  db: Database;
  embedder: EmbeddingProvider;
  log: Logger;
  chunking: ChunkOptions;
  batchSize: number;
  maxFileBytes: number;
  workDir: string;
  github: { apiUrl: string; token?: string; appId?: string; privateKey?: string };
  /** maintenance_work_mem for vector index builds (the embedded database only). */
  indexBuildMemory?: string;
  /** Overrides of the sync workflow's waits (tests); production uses SYNC_TIMING. */
  syncTiming?: Partial<SyncTiming>;
  /** Where git remotes may be fetched from (OUTBOUND_* settings); default https to public addresses. */
  urlPolicy?: UrlPolicy;
  /** Build vector indexes with CREATE INDEX CONCURRENTLY (a shared Postgres, not PGlite). */
  concurrentIndexBuilds?: boolean;
  /** Upserts from which a run loads in bulk (default BULK_LOAD_MIN_DOCUMENTS in plan.ts). */
  bulkLoadMinDocuments?: number;
  /** The whole configuration and Redis, for the workflows that need more than the pipeline (monitor). */
  config?: Config;
  redis?: RedisStore;
}

export function pipelineDeps(runtime: Runtime): PipelineDeps {
  const { config } = runtime;
  return {
    db: runtime.db,
    embedder: runtime.embedder,
    log: runtime.log,
    chunking: config.chunking,
    batchSize: config.sync.batchSize,
    maxFileBytes: config.sync.maxFileBytes,
    workDir: config.sync.workDir,
    indexBuildMemory: config.database.driver === "pglite" ? "512MB" : undefined,
    urlPolicy: urlPolicyFor(config),
    concurrentIndexBuilds: config.database.driver !== "pglite",
    config,
    redis: runtime.redis,
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

export function readerForLocation(
  deps: PipelineDeps,
  location: SourceLocation,
  installationId?: number,
): SourceReader {
  return createSourceReader(location, {
    workDir: deps.workDir,
    github: { ...deps.github, installationId },
    log: deps.log,
    urlPolicy: deps.urlPolicy,
  });
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
