import { z } from "zod";

/**
 * Every event Ballast's workflows send or react to: name and data schema, declared once.
 * inngest/events.ts wraps these for the Inngest client; the embedded runner and the CLI
 * validate with the same schemas. Payloads carry ids, never file contents (step outputs and
 * events have size limits).
 */

/** Carried from the first cause (webhook delivery, admin request, cron tick) through everything it causes. */
export const correlationId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\w:.@/-]+$/, "letters, digits and :._@/- only");

const runTrigger = z.enum(["cli", "webhook", "schedule", "admin", "retry"]);

export const SYNC_REQUESTED = "source/sync.requested";
export const syncRequestedData = z.strictObject({
  sourceId: z.uuid(),
  mode: z.enum(["full", "incremental"]),
  trigger: runTrigger,
  /** Who asked: an API key name, "github", "scheduler". */
  requestedBy: z.string().max(200).optional(),
  /** The pushed head, when a push caused this; recorded on the run. */
  pushedCommit: z
    .string()
    .regex(/^[0-9a-f]{7,64}$/i)
    .optional(),
  /** Makes the request idempotent: the same key is the same run. */
  dedupeKey: z.string().min(1).max(200),
  correlationId: correlationId.optional(),
});

export const BATCH_REQUESTED = "source/batch.requested";
export const batchRequestedData = z.strictObject({
  runId: z.uuid(),
  sourceId: z.uuid(),
  batch: z.number().int().min(0).max(1_000_000),
  correlationId: correlationId.optional(),
});

export const BATCHES_COMPLETED = "source/run.batches-completed";
export const batchesCompletedData = z.strictObject({
  runId: z.uuid(),
  sourceId: z.uuid(),
  correlationId: correlationId.optional(),
});

export const SYNC_COMPLETED = "source/sync.completed";
export const syncCompletedData = z.strictObject({
  runId: z.uuid(),
  sourceId: z.uuid(),
  status: z.enum(["succeeded", "completed_with_errors", "failed", "cancelled"]),
  processed: z.number().int(),
  failed: z.number().int(),
  toCommit: z.string().nullable(),
  correlationId: correlationId.optional(),
});

/**
 * A scheduled workflow runs on its cron, or on request (an operator, a test) with the event
 * `workflow/<id>.requested` and the tick it stands for.
 */
export function requestedEventName(workflowId: string): string {
  return `workflow/${workflowId}.requested`;
}
export const tickData = z.union([
  /** Inngest's cron trigger (`inngest/scheduled.timer`). */
  z.strictObject({ cron: z.string().max(100) }),
  z.strictObject({
    /** The tick to act for (ISO 8601); default: when the event was sent. */
    at: z.iso.datetime({ offset: true }).optional(),
    requestedBy: z.string().max(200).optional(),
    correlationId: correlationId.optional(),
  }),
]);

/** Cron schedules, named so the Inngest functions, the embedded runner and the docs share one value. */
export const SCHEDULES = {
  syncAll: "0 */6 * * *",
  flushOutbox: "*/5 * * * *",
  cleanup: "0 2 * * *",
  errorRecovery: "*/15 * * * *",
  replay: "30 3 * * *",
  monitor: "*/5 * * * *",
} as const;

export type SyncRequestedData = z.output<typeof syncRequestedData>;
export type BatchRequestedData = z.output<typeof batchRequestedData>;
export type BatchesCompletedData = z.output<typeof batchesCompletedData>;
export type SyncCompletedData = z.output<typeof syncCompletedData>;
export type TickData = z.output<typeof tickData>;

/** An operator approved or rejected a cleanup that waits for approval (the decision is in cleanup_runs). */
export const CLEANUP_DECIDED = "cleanup/approval.decided";
export const cleanupDecidedData = z.strictObject({
  runId: z.uuid(),
  decision: z.enum(["approve", "reject"]),
  correlationId: correlationId.optional(),
});
export type CleanupDecidedData = z.output<typeof cleanupDecidedData>;
/**
 * Inngest's own event after any function's final failure. Only the fields error-recovery reads
 * are declared; the original event's data is kept as ids (Ballast's events carry nothing else).
 */
export const FUNCTION_FAILED = "inngest/function.failed";
export const functionFailedData = z.object({
  function_id: z.string().min(1).max(300),
  run_id: z.string().max(100).optional(),
  error: z
    .object({
      name: z.string().max(200).optional(),
      message: z.string().max(20_000).optional(),
    })
    .optional(),
  event: z.object({
    id: z.string().max(300).optional(),
    name: z.string().min(1).max(200),
    data: z.record(z.string(), z.unknown()).optional(),
    ts: z.number().optional(),
  }),
});

/** error-recovery runs on its cron, on request, and after a Ballast function failed for good. */
export const errorRecoveryData = z.union([tickData, functionFailedData]);

export type FunctionFailedData = z.output<typeof functionFailedData>;

/**
 * The replay workflow: its cron tick or an on-request tick (the last 24 hours, as nightly), or
 * an operator's request to replay a range (`since`/`until`, optionally one `source`) or an
 * imported bundle (`bundle`, an archive key), scored against `minPassRate` (default
 * REPLAY_MIN_PASS_RATE). lib/replay/request.ts checks the combination before the event is sent.
 */
export const replayRange = z.strictObject({
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  bundle: z
    .string()
    .max(500)
    .regex(/^replay\/[A-Za-z0-9._/-]+\.json\.gz$/)
    .refine((key) => !key.split("/").includes(".."))
    .optional(),
  source: z.string().min(1).max(200).optional(),
  minPassRate: z.number().min(0).max(1).optional(),
});
export const replayRequestedData = z.union([
  z.strictObject({ cron: z.string().max(100) }),
  z.strictObject({
    at: z.iso.datetime({ offset: true }).optional(),
    requestedBy: z.string().max(200).optional(),
    correlationId: correlationId.optional(),
    ...replayRange.shape,
  }),
]);
export type ReplayRequestedData = z.output<typeof replayRequestedData>;
