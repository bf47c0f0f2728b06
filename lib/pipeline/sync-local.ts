import { randomUUID } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import type { RunMode, RunTrigger } from "../../db/schema";
import { syncRunItems } from "../../db/schema";
import { ConflictError, errorMessage } from "../errors";
import { retry } from "../resilience/retry";
import { completeRun } from "./complete-run";
import type { PipelineDeps } from "./deps";
import { planRun } from "./plan";
import { type BatchOutcome, processBatch } from "./process-batch";
import { createRun, finishRun, getRun, type RunRecord } from "./runs";

export interface SyncProgress {
  runId: string;
  phase: "planning" | "indexing" | "finishing";
  planned: number;
  batchesTotal: number;
  batchesDone: number;
  documentsDone: number;
  processed: number;
  skipped: number;
  failed: number;
  deleted: number;
  chunksEmbedded: number;
}

export interface LocalSyncOptions {
  sourceId: string;
  mode: RunMode;
  trigger?: RunTrigger;
  dedupeKey?: string;
  onProgress?: (progress: SyncProgress) => void;
  signal?: AbortSignal;
  /** Retries of a batch after a retryable failure before its documents are marked failed. */
  batchRetries?: number;
}

/**
 * The whole sync in this process, without Inngest: the same plan / batch / complete steps
 * the Inngest functions run, driven in a loop. Used by the CLI and the tests.
 */
export async function syncSourceLocally(
  deps: PipelineDeps,
  options: LocalSyncOptions,
): Promise<RunRecord> {
  const { db } = deps;
  const run = await createRun(db, {
    sourceId: options.sourceId,
    trigger: options.trigger ?? "cli",
    mode: options.mode,
    dedupeKey: options.dedupeKey ?? `cli:${randomUUID()}`,
  });
  const progress: SyncProgress = {
    runId: run.id,
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
  options.onProgress?.({ ...progress });
  const plan = await planRun(deps, run.id);
  if (plan.state === "busy")
    throw new ConflictError(
      `source is already syncing (run ${plan.blockingRunId}); try again when it ends`,
      "source_busy",
    );
  if (plan.state === "finished") return getRun(db, run.id);

  progress.phase = "indexing";
  progress.planned = plan.planned;
  progress.batchesTotal = plan.batches;
  options.onProgress?.({ ...progress });
  try {
    for (let batch = 0; batch < plan.batches; batch++) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error("aborted");
      let outcome: BatchOutcome;
      try {
        outcome = await retry(() => processBatch(deps, run.id, batch), {
          maxRetries: options.batchRetries ?? 3,
          baseDelayMs: 500,
          maxDelayMs: 10_000,
          signal: options.signal,
          onRetry: (info) =>
            deps.log.warn({ runId: run.id, batch, ...info }, "batch failed; retrying"),
        });
      } catch (error) {
        if (options.signal?.aborted) throw error;
        const failed = await failPendingBatch(deps, run.id, batch, errorMessage(error));
        outcome = {
          runId: run.id,
          batch,
          runEnded: false,
          processed: 0,
          skipped: 0,
          failed,
          deleted: 0,
          chunksEmbedded: 0,
          pendingInRun: -1,
        };
      }
      progress.batchesDone++;
      progress.processed += outcome.processed;
      progress.skipped += outcome.skipped;
      progress.failed += outcome.failed;
      progress.deleted += outcome.deleted;
      progress.chunksEmbedded += outcome.chunksEmbedded;
      progress.documentsDone =
        progress.processed + progress.skipped + progress.failed + progress.deleted;
      options.onProgress?.({ ...progress });
    }
  } catch (error) {
    if (options.signal?.aborted) {
      await finishRun(db, run.id, "cancelled", {
        error: "cancelled by the operator; the cursor was not advanced",
      });
      return getRun(db, run.id);
    }
    throw error;
  }
  progress.phase = "finishing";
  options.onProgress?.({ ...progress });
  return completeRun(deps, run.id);
}

/** After the retries: the batch's remaining documents fail (the next sync retries them). */
export async function failPendingBatch(
  deps: PipelineDeps,
  runId: string,
  batch: number,
  error: string,
): Promise<number> {
  const rows = await deps.db
    .update(syncRunItems)
    .set({
      status: "failed",
      error: `batch failed after retries: ${error}`.slice(0, 1000),
      finishedAt: sql`now()`,
    })
    .where(
      and(
        eq(syncRunItems.runId, runId),
        eq(syncRunItems.batch, batch),
        eq(syncRunItems.status, "pending"),
      ),
    )
    .returning({ path: syncRunItems.path });
  return rows.length;
}
