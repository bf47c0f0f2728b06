import { randomUUID } from "node:crypto";
import type { RunMode, RunTrigger } from "../../db/schema";
import type { PipelineDeps } from "../pipeline/deps";
import type { PlanOutcome } from "../pipeline/plan";
import type { BatchOutcome } from "../pipeline/process-batch";
import {
  findRunByDedupeKey,
  finishRun,
  getRun,
  localRunOwner,
  type RunRecord,
} from "../pipeline/runs";
import { SYNC_REQUESTED } from "./events";
import { workflows } from "./index";
import { runInline } from "./inline";
import { syncSourceWorkflow } from "./sync-source";

export interface SyncProgress {
  runId: string;
  phase: "planning" | "waiting" | "indexing" | "finishing";
  planned: number;
  batchesTotal: number;
  batchesDone: number;
  documentsDone: number;
  processed: number;
  skipped: number;
  failed: number;
  deleted: number;
  chunksEmbedded: number;
  /** While waiting for another run of the source. */
  blockingRunId?: string;
}

export interface LocalSyncOptions {
  sourceId: string;
  mode: RunMode;
  trigger?: RunTrigger;
  dedupeKey?: string;
  correlationId?: string;
  onProgress?: (progress: SyncProgress) => void;
  signal?: AbortSignal;
  /** Injected waits (tests). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * A whole sync in this process (the CLI, the tests, the bench): the sync-source workflow run
 * by the inline executor, with its batches run inline as they are fanned out. Same rules as
 * under Inngest; progress is reported after each step. An abort (Ctrl-C) ends the run as
 * cancelled without advancing the cursor.
 */
export async function syncSourceLocally(
  deps: PipelineDeps,
  options: LocalSyncOptions,
): Promise<RunRecord> {
  const dedupeKey = options.dedupeKey ?? `cli:${randomUUID()}`;
  // This process drives the whole run: if it is killed, the next sync frees the source at once.
  const local: PipelineDeps = { ...deps, runOwner: deps.runOwner ?? localRunOwner() };
  const progress: SyncProgress = {
    runId: "",
    phase: "planning",
    planned: 0,
    batchesTotal: 0,
    batchesDone: 0,
    documentsDone: 0,
    processed: 0,
    skipped: 0,
    failed: 0,
    deleted: 0,
    chunksEmbedded: 0,
  };
  const report = () => options.onProgress?.({ ...progress });
  const event = {
    id: dedupeKey,
    name: SYNC_REQUESTED,
    data: {
      sourceId: options.sourceId,
      mode: options.mode,
      trigger: options.trigger ?? "cli",
      dedupeKey,
      correlationId: options.correlationId ?? dedupeKey,
    },
  };
  report();
  try {
    const outcome = await runInline(syncSourceWorkflow, event, {
      deps: async () => local,
      log: deps.log,
      workflows,
      signal: options.signal,
      sleep: options.sleep,
      onStepStart({ workflow, step }) {
        if (workflow === "sync-source" && step === "complete-run") {
          progress.phase = "finishing";
          report();
        }
      },
      onStep({ workflow, step, result, error }) {
        if (error) return;
        if (workflow === "sync-source" && step === "create-run") {
          progress.runId = (result as { id: string }).id;
          report();
        } else if (workflow === "sync-source" && step.startsWith("plan")) {
          const plan = result as PlanOutcome;
          if (plan.state === "busy") {
            progress.phase = "waiting";
            progress.blockingRunId = plan.blockingRunId;
          } else if (plan.state === "planned") {
            progress.phase = "indexing";
            progress.planned = plan.planned;
            progress.batchesTotal = plan.batches;
          }
          report();
        } else if (workflow === "process-batch" && step === "process-batch") {
          const batch = result as BatchOutcome;
          progress.batchesDone++;
          progress.processed += batch.processed;
          progress.skipped += batch.skipped;
          progress.failed += batch.failed;
          progress.deleted += batch.deleted;
          progress.chunksEmbedded += batch.chunksEmbedded;
          progress.documentsDone =
            progress.processed + progress.skipped + progress.failed + progress.deleted;
          report();
        } else if (workflow === "process-batch" && step === "fail-batch") {
          progress.batchesDone++;
          report();
        }
      },
    });
    if (!outcome.ok && outcome.invalid) throw outcome.error;
  } catch (error) {
    if (options.signal?.aborted) {
      const run = await findRunByDedupeKey(deps.db, dedupeKey);
      if (run) {
        await finishRun(deps.db, run.id, "cancelled", {
          error: "cancelled by the operator; the cursor was not advanced",
        });
        return getRun(deps.db, run.id);
      }
    }
    throw error;
  }
  const run = await findRunByDedupeKey(deps.db, dedupeKey);
  if (!run) throw new Error(`the sync made no run for ${dedupeKey}`);
  return run;
}
