import { cron, eventType } from "inngest";
import {
  BATCH_REQUESTED,
  BATCHES_COMPLETED,
  batchesCompletedData,
  batchRequestedData,
  CLEANUP_DECIDED,
  cleanupDecidedData,
  FUNCTION_FAILED,
  functionFailedData,
  replayRequestedData,
  requestedEventName,
  SCHEDULES,
  SYNC_COMPLETED,
  SYNC_REQUESTED,
  syncCompletedData,
  syncRequestedData,
  tickData,
} from "../lib/workflows/events";

/**
 * Every event Ballast sends or reacts to, declared once for the Inngest client. Names and
 * data schemas come from lib/workflows/events.ts, which the embedded runner and the CLI use
 * too. Every function checks its event's data against these schemas before any step runs.
 */
export const syncRequested = eventType(SYNC_REQUESTED, { schema: syncRequestedData });
export const batchRequested = eventType(BATCH_REQUESTED, { schema: batchRequestedData });
export const runBatchesCompleted = eventType(BATCHES_COMPLETED, { schema: batchesCompletedData });
export const syncCompleted = eventType(SYNC_COMPLETED, { schema: syncCompletedData });
/** Inngest's own event after a function's final failure (error-recovery listens). */
export const functionFailed = eventType(FUNCTION_FAILED, { schema: functionFailedData });

/** `workflow/<id>.requested`: a scheduled workflow run by an operator instead of its cron. */
export const workflowRequested = (workflowId: string) =>
  eventType(requestedEventName(workflowId), { schema: tickData });

/** Cron schedules, named so tests and docs refer to one value. */
export const schedules = {
  syncAll: cron(SCHEDULES.syncAll),
  flushOutbox: cron(SCHEDULES.flushOutbox),
  cleanup: cron(SCHEDULES.cleanup),
  errorRecovery: cron(SCHEDULES.errorRecovery),
  replay: cron(SCHEDULES.replay),
  monitor: cron(SCHEDULES.monitor),
} as const;

/** An operator's decision on a cleanup awaiting approval. */
export const cleanupDecided = eventType(CLEANUP_DECIDED, { schema: cleanupDecidedData });

/** `workflow/replay.requested`: a tick, or an operator's range or bundle (lib/replay/request.ts). */
export const replayRequested = eventType(requestedEventName("replay"), {
  schema: replayRequestedData,
});
