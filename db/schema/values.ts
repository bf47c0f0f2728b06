/**
 * Value lists of the schema's text columns that the CLI also names in its help text and checks
 * before any database is opened. This module imports nothing, so `ballast --help` and an
 * argument error can use them without loading drizzle; the table modules re-export them.
 */

export const RUN_STATUSES = [
  "queued",
  "running",
  "succeeded",
  "completed_with_errors",
  "failed",
  "cancelled",
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/**
 * pending    waiting for the error-recovery workflow (after `next_attempt_at`, breaker closed)
 * redriven   released for another attempt (a document: the next sync of its source takes it;
 *            an event: sent again); back to pending if that fails too
 * parked     out of recoveries: waits for an operator (retry or discard)
 * resolved   a later attempt succeeded
 * discarded  an operator gave up on it, with a reason
 */
export const DEAD_LETTER_STATUSES = [
  "pending",
  "redriven",
  "parked",
  "resolved",
  "discarded",
] as const;
export type DeadLetterStatus = (typeof DEAD_LETTER_STATUSES)[number];

export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];
