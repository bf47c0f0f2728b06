import type { DatabaseHandle } from "../../db/client";
import { RUN_PROGRESS_CHANNEL } from "./run-notify";
import { describeRun, getRun, isFinished, type RunRecord } from "./runs";

/**
 * Live progress of a run, fed by the run's own writes (lib/pipeline/run-notify.ts): followers
 * (the SSE route, `ballast runs <id> --follow`) re-read the run's counts on each notification.
 */

export type RunView = Awaited<ReturnType<typeof describeRun>>;

export interface RunProgress {
  runId: string;
  status: RunRecord["status"];
  /** queued, planning, indexing, finishing, or the final status. */
  phase: string;
  planned: number;
  documentsDone: number;
  processed: number;
  skipped: number;
  failed: number;
  deleted: number;
  pending: number;
  chunksEmbedded: number;
  batches: { total: number; done: number };
  /** Documents per minute since planning ended. */
  ratePerMinute: number | null;
  /** Seconds left at that rate. */
  etaSeconds: number | null;
  error: string | null;
  finished: boolean;
  at: string;
}

export function progressOf(view: RunView, now = new Date()): RunProgress {
  const c = view.counts;
  const done = c.processed + c.skipped + c.failed + c.deleted;
  const finished = view.status !== "queued" && view.status !== "running";
  const phase = finished
    ? view.status
    : view.status === "queued"
      ? "queued"
      : !view.timings.plannedAt
        ? "planning"
        : c.pending > 0
          ? "indexing"
          : "finishing";
  const since = view.timings.plannedAt ? Date.parse(view.timings.plannedAt) : undefined;
  const until = view.timings.finishedAt ? Date.parse(view.timings.finishedAt) : now.getTime();
  const minutes = since !== undefined ? (until - since) / 60_000 : 0;
  // The rate is what the batches did (documents skipped while planning are not in the plan).
  const batchDone = c.planned - c.pending;
  const rate = minutes > 0 ? batchDone / minutes : null;
  return {
    runId: view.id,
    status: view.status,
    phase,
    planned: c.planned,
    documentsDone: done,
    processed: c.processed,
    skipped: c.skipped,
    failed: c.failed,
    deleted: c.deleted,
    pending: c.pending,
    chunksEmbedded: c.chunksEmbedded,
    batches: view.batches,
    ratePerMinute: rate === null ? null : Math.round(rate),
    etaSeconds:
      !finished && rate && rate > 0 && c.pending > 0 ? Math.round((c.pending / rate) * 60) : null,
    error: view.error,
    finished,
    at: now.toISOString(),
  };
}

export interface FollowOptions {
  signal?: AbortSignal;
  /** Re-read without a notification after this long (a database without LISTEN). Default 15 s. */
  recheckMs?: number;
}

/**
 * Calls `onProgress` with the run's progress now, after each notification for it, and a last
 * time when it ends; resolves with the final progress (or the last one seen when aborted).
 */
export async function followRun(
  handle: Pick<DatabaseHandle, "db" | "listen">,
  runId: string,
  onProgress: (progress: RunProgress) => void,
  options: FollowOptions = {},
): Promise<RunProgress> {
  const { db } = handle;
  const run = await getRun(db, runId);
  let wake: (() => void) | undefined;
  let dirty = true;
  const stop = await handle
    .listen(RUN_PROGRESS_CHANNEL, (payload) => {
      if (payload !== run.id) return;
      dirty = true;
      wake?.();
    })
    .catch(() => async () => {});
  const onAbort = () => wake?.();
  options.signal?.addEventListener("abort", onAbort);
  let last: RunProgress | undefined;
  try {
    for (;;) {
      if (dirty) {
        dirty = false;
        const current = await getRun(db, run.id);
        last = progressOf(await describeRun(db, current));
        onProgress(last);
        if (isFinished(current.status)) return last;
      }
      if (options.signal?.aborted) return last as RunProgress;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          dirty = true;
          resolve();
        }, options.recheckMs ?? 15_000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    await stop();
  }
}
