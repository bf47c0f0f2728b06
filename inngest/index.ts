import { cleanup } from "./functions/cleanup";
import { errorRecovery } from "./functions/error-recovery";
import { flushOutbox } from "./functions/flush-outbox";
import { monitor } from "./functions/monitor";
import { processBatchFn } from "./functions/process-batch";
import { replay } from "./functions/replay";
import { scheduleSyncs } from "./functions/schedule-syncs";
import { syncSource } from "./functions/sync-source";

/** Every Inngest function Ballast serves. */
export const functions = [
  syncSource,
  processBatchFn,
  scheduleSyncs,
  flushOutbox,
  cleanup,
  errorRecovery,
  replay,
  monitor,
];
