import { flushOutboxWorkflow } from "./flush-outbox";
import { processBatchWorkflow } from "./process-batch";
import { replayWorkflow } from "./replay";
import { scheduleSyncsWorkflow } from "./schedule-syncs";
import { syncSourceWorkflow } from "./sync-source";
import type { Workflow } from "./types";

export type * from "./types";
export {
  flushOutboxWorkflow,
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
  replayWorkflow,
] as unknown as Workflow[];
