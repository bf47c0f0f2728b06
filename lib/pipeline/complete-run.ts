import { ensureVectorIndex } from "../index/vector-index";
import type { PipelineDeps } from "./deps";
import { type FinalizeOptions, finalizeRun, getRun, isFinished, type RunRecord } from "./runs";

/**
 * Step 3 of a sync: make sure the space's vector index exists (a bulk load dropped it;
 * building it once is far cheaper than inserting into it row by row), then finalize.
 */
export async function completeRun(
  deps: PipelineDeps,
  runId: string,
  options: FinalizeOptions = {},
): Promise<RunRecord> {
  const run = await getRun(deps.db, runId);
  if (isFinished(run.status)) return run;
  const started = performance.now();
  const built = await ensureVectorIndex(deps.db, {
    space: deps.embedder.space,
    dimensions: deps.embedder.dimensions,
  });
  if (built)
    deps.log.info({ runId, ms: Math.round(performance.now() - started) }, "vector index built");
  return finalizeRun(deps.db, runId, options);
}
