import { flushOutboxWorkflow } from "./flush-outbox";
import { monitorWorkflow } from "./monitor";
import { processBatchWorkflow } from "./process-batch";
import { scheduleSyncsWorkflow } from "./schedule-syncs";
import { syncSourceWorkflow } from "./sync-source";
import type { Workflow } from "./types";

export type * from "./types";
export {
  flushOutboxWorkflow,
  monitorWorkflow,
  processBatchWorkflow,
  scheduleSyncsWorkflow,
  syncSourceWorkflow,
};

/** Every workflow Ballast runs; the Inngest functions and the embedded runner serve this list. */
export const workflows: Workflow[] = [
  syncSourceWorkflow,
  processBatchWorkflow,
  scheduleSyncsWorkflow,
  flushOutboxWorkflow,
  monitorWorkflow,
] as unknown as Workflow[];
