import path from "node:path";
import { type Config, loadConfig } from "../lib/config";
import type { EmbedCallOptions, EmbeddingBatchResult, EmbeddingProvider } from "../lib/embedding";
import { createLogger } from "../lib/log/logger";
import { type PipelineDeps, pipelineDeps } from "../lib/pipeline/deps";
import { createRuntime, type Runtime } from "../lib/runtime";

/**
 * The embedded default, as `npx ballast sync` builds it: PGlite persisted in a directory, the
 * in-process Redis store, the archive folder and the local embedder, from `loadConfig` with
 * explicit values (the bench never reads the process environment).
 */
export interface BenchRuntime {
  config: Config;
  runtime: Runtime;
  deps: PipelineDeps;
  /** Time spent inside the embedder's embedDocuments (the real embedder, only timed). */
  embedTime: EmbedTimer;
}

export interface EmbedTimer {
  ms: number;
  calls: number;
  texts: number;
  reset(): void;
}

export async function openBenchRuntime(
  dataDir: string,
  projectRoot: string,
  /** More variables (e.g. LEDGER_ENABLED=false for the ledger's overhead). */
  env: Record<string, string> = {},
  /**
   * Serve the database from a worker thread, as the app does (`next start`, `npm run up`):
   * PGlite's work leaves this thread, which then talks to it over the Unix socket.
   */
  options: { serveDatabase?: boolean } = {},
): Promise<BenchRuntime> {
  const config = loadConfig({
    BALLAST_ENV: "development",
    BALLAST_DATA_DIR: dataDir,
    PGLITE_DIR: path.join(dataDir, "pglite"),
    LOG_LEVEL: "warn",
    ...env,
  });
  const log = createLogger({
    level: config.logLevel,
    secrets: config.secrets,
    destination: { write: (line: string) => process.stderr.write(line) },
    base: { bench: true },
  });
  const runtime = await createRuntime(config, {
    log,
    migrationsFolder: path.join(projectRoot, "db", "migrations"),
    serveDatabase: options.serveDatabase === true,
  });
  const embedTime: EmbedTimer = {
    ms: 0,
    calls: 0,
    texts: 0,
    reset() {
      this.ms = 0;
      this.calls = 0;
      this.texts = 0;
    },
  };
  const deps: PipelineDeps = {
    ...pipelineDeps(runtime),
    embedder: timedEmbedder(runtime.embedder, embedTime),
  };
  return { config, runtime, deps, embedTime };
}

/** The same embedder, with the time spent in embedDocuments added up. */
function timedEmbedder(inner: EmbeddingProvider, timer: EmbedTimer): EmbeddingProvider {
  return {
    provider: inner.provider,
    model: inner.model,
    dimensions: inner.dimensions,
    space: inner.space,
    async embedDocuments(
      texts: string[],
      options?: EmbedCallOptions,
    ): Promise<EmbeddingBatchResult> {
      const started = performance.now();
      try {
        return await inner.embedDocuments(texts, options);
      } finally {
        timer.ms += performance.now() - started;
        timer.calls++;
        timer.texts += texts.length;
      }
    },
    embedQuery: (text, options) => inner.embedQuery(text, options),
    countTokens: (text) => inner.countTokens(text),
    costUsd: (tokens) => inner.costUsd(tokens),
  };
}
