import { cron, eventType } from "inngest";
import { z } from "zod";

/**
 * Every event Ballast sends or reacts to, declared once. Payloads carry ids, never
 * file contents: step outputs and events have size limits.
 */
const runTrigger = z.enum(["cli", "webhook", "schedule", "admin", "retry"]);

export const syncRequested = eventType("source/sync.requested", {
  schema: z.object({
    sourceId: z.string().uuid(),
    mode: z.enum(["full", "incremental"]),
    trigger: runTrigger,
    /** Who asked: an API key name, "github", "scheduler". */
    requestedBy: z.string().optional(),
    /** The pushed head, when a push caused this; recorded on the run. */
    pushedCommit: z.string().optional(),
    /** Makes the request idempotent: the same key is the same run. */
    dedupeKey: z.string().min(1).max(200),
  }),
});

export const batchRequested = eventType("source/batch.requested", {
  schema: z.object({
    runId: z.string().uuid(),
    sourceId: z.string().uuid(),
    batch: z.number().int().min(0),
  }),
});

export const runBatchesCompleted = eventType("source/run.batches-completed", {
  schema: z.object({ runId: z.string().uuid(), sourceId: z.string().uuid() }),
});

export const syncCompleted = eventType("source/sync.completed", {
  schema: z.object({
    runId: z.string().uuid(),
    sourceId: z.string().uuid(),
    status: z.enum(["succeeded", "completed_with_errors", "failed", "cancelled"]),
    processed: z.number().int(),
    failed: z.number().int(),
    toCommit: z.string().nullable(),
  }),
});

/** Cron schedules, named so tests and docs refer to one value. */
export const schedules = {
  syncAll: cron("0 */6 * * *"),
  flushOutbox: cron("*/5 * * * *"),
} as const;
