import { mergeLexicalPendingList } from "../index/lexical-index";
import { ensureSourceVectorIndexAfterSync } from "../index/vector-index";
import { mergePendingTermStats } from "../index/write";
import type { PipelineDeps } from "./deps";
import {
  type FinalizeOptions,
  finalizeRun,
  getRun,
  heartbeat,
  isFinished,
  type RunRecord,
} from "./runs";

/**
 * Step 3 of a sync: make sure the source's vector index exists if the source is large enough
 * to have one (VECTOR_INDEX_MIN_CHUNKS; a bulk load dropped it, and building it once is far
 * cheaper than inserting into it row by row), merge the lexical index's pending entries (what
 * the sync's inserts left for every search to scan: lexical-index.ts), then finalize. Only this
 * source's vector index is looked at: the others' chunks did not change. A small source gets
 * none (searched exactly).
 */
export async function completeRun(
  deps: PipelineDeps,
  runId: string,
  options: FinalizeOptions = {},
): Promise<RunRecord> {
  const run = await getRun(deps.db, runId);
  if (isFinished(run.status)) return run;
  // A long index build sends no heartbeat: give the run a fresh one first.
  await heartbeat(deps.db, runId);
  // A bulk load's document frequencies (and any left by a run that died) join the index.
  await mergePendingTermStats(deps.db, run.sourceId);
  const started = performance.now();
  const built = await ensureSourceVectorIndexAfterSync(
    deps.db,
    {
      space: deps.embedder.space,
      dimensions: deps.embedder.dimensions,
      sourceId: run.sourceId,
    },
    {
      maintenanceWorkMem: deps.indexBuildMemory,
      concurrently: deps.concurrentIndexBuilds,
      minChunks: deps.vectorIndexMinChunks,
      bulkLoad: run.bulkLoad,
    },
  );
  if (built.length > 0)
    deps.log.info(
      { runId, sources: built, ms: Math.round(performance.now() - started) },
      "vector index built",
    );
  await mergeLexicalPendingList(deps.db);
  return finalizeRun(deps.db, runId, { dlq: deps.dlq, ...options });
}
