import { type Database, type DatabaseHandle, openDatabase } from "../db/client";
import { type ArchiveStore, createArchiveStore } from "./archive";
import { type Config, getConfig } from "./config";
import {
  createEmbeddingProvider,
  type EmbeddingProvider,
  withSimulationBoundary,
} from "./embedding";
import { ProviderBudget } from "./limits/budget";
import { createLogger, type Logger } from "./log/logger";
import { simulatedCallRecorder } from "./monitoring/simulated-calls";
import { createRedisStore, type RedisStore } from "./redis";
import { FallbackRedisStore } from "./redis/fallback";
import { BreakerRegistry } from "./resilience/breaker";
import { guardArchive } from "./resilience/guard";
import { TracedArchiveStore } from "./traces/external";
import { createOtlpExporter } from "./traces/otlp";
import { Tracer, tracedFetch } from "./traces/tracer";

/**
 * The process's backends, built once from the configuration: the database, Redis, the
 * archive store, the embedder and the logger. Route handlers, Inngest functions and the
 * CLI all take what they need from here; tests build their own with `createRuntime`.
 */
export interface Runtime {
  readonly config: Config;
  readonly log: Logger;
  readonly database: DatabaseHandle;
  readonly db: Database;
  readonly redis: RedisStore;
  readonly archive: ArchiveStore;
  readonly embedder: EmbeddingProvider;
  /** Trace envelopes of this process (buffered, written in batches). */
  readonly tracer: Tracer;
  /** Circuit breakers of the external dependencies, their state in `redis`. */
  readonly breakers: BreakerRegistry;
  close(): Promise<void>;
}

export interface RuntimeOverrides {
  log?: Logger;
  /** Where db/migrations is when the working directory is not the project root (the CLI). */
  migrationsFolder?: string;
  database?: DatabaseHandle;
  redis?: RedisStore;
  archive?: ArchiveStore;
  embedder?: EmbeddingProvider;
  tracer?: Tracer;
  /** The embedded database only: serve it from a worker thread (the app). Default false. */
  serveDatabase?: boolean;
}

export function loggerFor(config: Config): Logger {
  return createLogger({ level: config.logLevel, secrets: config.secrets });
}

export async function createRuntime(
  config: Config,
  overrides: RuntimeOverrides = {},
): Promise<Runtime> {
  const log = overrides.log ?? loggerFor(config);
  const database =
    overrides.database ??
    (await openDatabase(config.database, {
      migrationsFolder: overrides.migrationsFolder,
      serve: overrides.serveDatabase,
    }));
  const tracer =
    overrides.tracer ??
    new Tracer({
      db: database.db,
      log,
      secrets: config.secrets,
      enabled: config.traces.enabled,
      exporter: config.traces.otlp ? createOtlpExporter(config.traces.otlp, config) : undefined,
    });
  const redis =
    overrides.redis ??
    (config.redis.backend === "upstash" && config.redis.url && config.redis.token
      ? new FallbackRedisStore(
          createRedisStore({
            backend: "upstash",
            url: config.redis.url,
            token: config.redis.token,
            env: config.mode,
            retries: 1,
            requestTimeoutMs: 3000,
          }),
          createRedisStore({ backend: "memory", env: config.mode }),
          config.redis.required,
        )
      : createRedisStore({ backend: "memory", env: config.mode }));
  const { resilience } = config;
  const breakers = new BreakerRegistry(
    redis,
    resilience.breaker,
    resilience.breakerOverrides,
    Date.now,
    config.monitoring.channels.map((c) => c.id),
  );
  const archive = new TracedArchiveStore(
    overrides.archive ??
      (config.archive.s3
        ? guardArchive(
            createArchiveStore({ backend: "s3", ...config.archive.s3 }),
            breakers.get("s3"),
          )
        : createArchiveStore({ backend: "folder", dir: config.archive.dir })),
    tracer,
  );
  const provider = config.embedding.provider;
  // EMBEDDING_MODE: log-only records each call and answers locally; off refuses every call.
  const embedder =
    overrides.embedder ??
    withSimulationBoundary(
      createEmbeddingProvider({
        ...config.embedding,
        onRetry: (info) => log.warn(info, "embedding request retried"),
        // A span per provider request (the local embedder makes none).
        fetch: tracedFetch(
          `embedding.${config.embedding.provider}`,
          (input, init) => globalThis.fetch(input, init),
          tracer,
        ),
        ...(provider === "local"
          ? {}
          : {
              breaker: breakers.get(`embedding:${provider}`),
              budget: new ProviderBudget(provider, redis, resilience.budgets[provider]),
            }),
      }),
      config.embedding.mode,
      { record: simulatedCallRecorder(database.db), batchSize: config.embedding.batchSize },
    );
  return {
    config,
    log,
    database,
    db: database.db,
    redis,
    archive,
    embedder,
    tracer,
    breakers,
    async close() {
      await tracer.close().catch(() => undefined);
      await redis.close();
      await database.close();
    },
  };
}

const holder = globalThis as unknown as {
  __ballastRuntime?: Promise<Runtime>;
  __ballastLogger?: Logger;
};

/**
 * The process-wide runtime of the app (survives Next.js dev reloads). On the embedded
 * defaults it serves its database from a worker thread, so the CLI can connect meanwhile.
 */
export function getRuntime(): Promise<Runtime> {
  if (!holder.__ballastRuntime) {
    const pending = createRuntime(getConfig(), { log: getLogger(), serveDatabase: true });
    holder.__ballastRuntime = pending;
    pending.catch(() => {
      if (holder.__ballastRuntime === pending) holder.__ballastRuntime = undefined;
    });
  }
  return holder.__ballastRuntime;
}

/** Installs a runtime for this process (tests, the CLI). */
export function setRuntime(runtime: Runtime | undefined): void {
  holder.__ballastRuntime = runtime ? Promise.resolve(runtime) : undefined;
}

export function getLogger(): Logger {
  holder.__ballastLogger ??= loggerFor(getConfig());
  return holder.__ballastLogger;
}
