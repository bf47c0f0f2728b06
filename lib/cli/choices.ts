/**
 * The value lists that command definitions name in their help text and check before any backend
 * is opened. They mirror db/schema, lib/config and lib/retention: importing those would load
 * drizzle and zod (about a second of CPU) for `ballast --help` and for every argument error.
 * tests/unit/cli-choices.test.ts checks that each list equals the one it mirrors; the types below
 * make the compiler reject a value the original does not have.
 */
import type { DeadLetterStatus, RunStatus } from "../../db/schema";
import type { Role } from "../auth/roles";
import type { Mode } from "../config";

export const RUN_STATUSES: readonly RunStatus[] = [
  "queued",
  "running",
  "succeeded",
  "completed_with_errors",
  "failed",
  "cancelled",
];

export const DEAD_LETTER_STATUSES: readonly DeadLetterStatus[] = [
  "pending",
  "redriven",
  "parked",
  "resolved",
  "discarded",
];

export const ROLES: readonly Role[] = ["viewer", "operator", "admin"];

export const MODES: readonly Mode[] = ["development", "test", "staging", "production"];

/** The prefixes of the archived datasets (lib/retention/datasets.ts DATASETS), in its order. */
export const ARCHIVE_DATASETS: readonly string[] = [
  "traces",
  "ledger",
  "outbox",
  "webhooks",
  "dlq",
];
