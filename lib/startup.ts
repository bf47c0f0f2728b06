import { ConfigError, getConfig, summaryLines } from "./config";
import { installPeerAddressStamp } from "./http/client-address";
import { ensureSpaceVectorIndexes } from "./index/vector-index";
import { startWorkflowRunner } from "./runner";
import { getLogger, getRuntime } from "./runtime";

/**
 * Server start-up: a bad configuration stops the process with one message naming every
 * problem; a good one prints one line per part saying which backend it uses, then opens
 * the backends so the first request does not pay for it.
 */
export async function onServerStart(): Promise<void> {
  // Before the first request: route handlers learn each connection's address from this stamp.
  installPeerAddressStamp();
  let config: ReturnType<typeof getConfig>;
  try {
    config = getConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const log = getLogger();
  for (const line of summaryLines(config)) log.info({ startup: true }, line);
  try {
    const runtime = await getRuntime();
    // On the embedded database, sources of this space without a vector index get one now
    // rather than at their next sync. On a shared Postgres a missing index is left to the next
    // sync (building one on a large table would stall a cold start); /api/health shows it as
    // degraded meanwhile.
    if (config.database.driver === "pglite")
      await ensureSpaceVectorIndexes(
        runtime.db,
        { space: runtime.embedder.space, dimensions: runtime.embedder.dimensions },
        { minChunks: config.search.vectorIndexMinChunks },
      );
    const choice = await startWorkflowRunner(runtime);
    log.info(
      { startup: true },
      `ballast: workflows: ${choice.runner === "embedded" ? "embedded runner in this process" : "Inngest"} (${choice.reason})`,
    );
  } catch (error) {
    log.error({ err: error }, "backends failed to open; /api/health reports the details");
  }
}
