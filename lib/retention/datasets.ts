import { type SQL, sql } from "drizzle-orm";
import type { DatasetPrefix } from "./dataset-prefixes";

/**
 * Tables whose old rows are archived to the archive store before they are deleted: each names
 * its time column (rows are grouped by its UTC day), its id column, and which rows may expire.
 * Rows are archived as Postgres serialises them (`to_jsonb`), so a restore (`jsonb_populate_
 * recordset`) gives back exactly the rows that were archived, to the microsecond.
 */
export interface Dataset {
  /** The table, also the dataset's name in archive_parts. */
  table: string;
  /** Key prefix in the archive store. */
  prefix: DatasetPrefix;
  timeColumn: string;
  idColumn: string;
  /** The id column's SQL type, for deleting archived rows by id (default text). */
  idType?: "text" | "bigint" | "uuid";
  /** Rows that may expire at all (e.g. outbox events already sent), besides their age. */
  expirable?: SQL;
  /** The retention (days) from the configuration. */
  retentionDays: (config: RetentionSettings) => number;
  /**
   * Rows of another table that belong to each row and go with it (deleted by the cascade of
   * their foreign key): archived inside the row's line under `_<table>` (a key no column of the
   * row has), restored after it.
   */
  children?: { table: string; foreignKey: string; orderBy: string };
}

export interface RetentionSettings {
  traceRetentionDays: number;
  ledgerRetentionDays: number;
  outboxRetentionDays: number;
  webhookRetentionDays: number;
  deadLetterRetentionDays: number;
}

export const TRACE_DATASET: Dataset = {
  table: "trace_spans",
  prefix: "traces",
  timeColumn: "started_at",
  idColumn: "span_id",
  retentionDays: (c) => c.traceRetentionDays,
};

export const OUTBOX_DATASET: Dataset = {
  table: "outbox_events",
  prefix: "outbox",
  timeColumn: "created_at",
  idColumn: "id",
  // Pending events are work still to do: never expired.
  expirable: sql`status in ('sent', 'dead')`,
  retentionDays: (c) => c.outboxRetentionDays,
};

export const WEBHOOK_DATASET: Dataset = {
  table: "webhook_deliveries",
  prefix: "webhooks",
  timeColumn: "received_at",
  idColumn: "delivery_id",
  retentionDays: (c) => c.webhookRetentionDays,
};

/** The parity ledger (lib/ledger): what replay compares against, kept LEDGER_RETENTION_DAYS. */
export const LEDGER_DATASET: Dataset = {
  table: "ledger_entries",
  prefix: "ledger",
  timeColumn: "recorded_at",
  idColumn: "id",
  idType: "bigint",
  retentionDays: (c) => c.ledgerRetentionDays,
};

/**
 * The dead-letter queue (lib/recovery/dlq.ts), each entry with its attempt history. Only
 * terminal entries expire: `resolved` (a later attempt succeeded) and `discarded` (an operator
 * gave up on it), by the time they ended (`resolved_at`, set by both), DLQ_RETENTION_DAYS
 * after it. `pending` and `redriven` entries are awaiting recovery and `parked` ones wait for an
 * operator's retry or discard (and count toward the DLQ depth alert): those are never archived,
 * however old — an operator discards a parked entry to let it expire.
 */
export const DEAD_LETTER_DATASET: Dataset = {
  table: "dead_letters",
  prefix: "dlq",
  timeColumn: "resolved_at",
  idColumn: "id",
  idType: "uuid",
  expirable: sql`status in ('resolved', 'discarded')`,
  retentionDays: (c) => c.deadLetterRetentionDays,
  children: { table: "dead_letter_attempts", foreignKey: "entry_id", orderBy: "at" },
};

/** Every dataset the cleanup archives, in the order it handles them. */
export const DATASETS: readonly Dataset[] = [
  TRACE_DATASET,
  LEDGER_DATASET,
  OUTBOX_DATASET,
  WEBHOOK_DATASET,
  DEAD_LETTER_DATASET,
];

export function datasetByName(name: string): Dataset | undefined {
  return DATASETS.find((d) => d.table === name || d.prefix === name);
}
