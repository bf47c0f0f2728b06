import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Config, loadConfig } from "../../lib/config";
import { createLogger, type Logger } from "../../lib/log/logger";
import { type PipelineDeps, pipelineDeps } from "../../lib/pipeline/deps";
import { createRuntime, type Runtime, type RuntimeOverrides } from "../../lib/runtime";

export interface TestRuntime extends Runtime {
  deps: PipelineDeps;
  dataDir: string;
  /** Every log line written, for secret-leak assertions. */
  logLines: string[];
}

/**
 * A runtime on the embedded defaults, isolated per call: in-memory PGlite (migrated),
 * the in-process Redis store, an archive folder in a temp dir and the local embedder.
 */
export async function createTestRuntime(
  env: Record<string, string> = {},
  overrides: RuntimeOverrides = {},
): Promise<TestRuntime> {
  const dataDir = await mkdtemp(path.join(tmpdir(), "ballast-rt-"));
  const config: Config = loadConfig({
    BALLAST_ENV: "test",
    BALLAST_DATA_DIR: dataDir,
    PGLITE_DIR: "memory://",
    LOG_LEVEL: "info",
    SYNC_BATCH_SIZE: "20",
    ...env,
  });
  const logLines: string[] = [];
  const log: Logger = createLogger({
    level: config.logLevel,
    secrets: config.secrets,
    destination: { write: (line: string) => logLines.push(line) },
  });
  const runtime = await createRuntime(config, { log, ...overrides });
  return {
    ...runtime,
    deps: pipelineDeps(runtime),
    dataDir,
    logLines,
    async close() {
      await runtime.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
