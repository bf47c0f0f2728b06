import { cleanupWorkflow } from "./cleanup";
import { errorRecoveryWorkflow } from "./error-recovery";
import { flushOutboxWorkflow } from "./flush-outbox";
import { monitorWorkflow } from "./monitor";
import { processBatchWorkflow } from "./process-batch";
import { replayWorkflow } from "./replay";
import { scheduleSyncsWorkflow } from "./schedule-syncs";
import { syncSourceWorkflow } from "./sync-source";
import type { Workflow } from "./types";

export type * from "./types";
export {
  cleanupWorkflow,
  errorRecoveryWorkflow,
  flushOutboxWorkflow,
  monitorWorkflow,
  processBatchWorkflow,
  replayWorkflow,
  scheduleSyncsWorkflow,
  syncSourceWorkflow,
};

/** Every workflow Ballast runs; the Inngest functions and the embedded runner serve this list. */
export const workflows: Workflow[] = [
  syncSourceWorkflow,
  processBatchWorkflow,
  scheduleSyncsWorkflow,
  flushOutboxWorkflow,
  cleanupWorkflow,
  errorRecoveryWorkflow,
  replayWorkflow,
  monitorWorkflow,
] as unknown as Workflow[];
