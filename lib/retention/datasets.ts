import { type SQL, sql } from "drizzle-orm";

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
  prefix: string;
  timeColumn: string;
  idColumn: string;
  /** The id column's SQL type, for deleting archived rows by id (default text). */
  idType?: "text" | "bigint" | "uuid";
  /** Rows that may expire at all (e.g. outbox events already sent), besides their age. */
  expirable?: SQL;
  /** The retention (days) from the configuration. */
  retentionDays: (config: RetentionSettings) => number;
}

export interface RetentionSettings {
  traceRetentionDays: number;
  ledgerRetentionDays: number;
  outboxRetentionDays: number;
  webhookRetentionDays: number;
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

/** Every dataset the cleanup archives, in the order it handles them. */
export const DATASETS: readonly Dataset[] = [
  TRACE_DATASET,
  LEDGER_DATASET,
  OUTBOX_DATASET,
  WEBHOOK_DATASET,
];

export function datasetByName(name: string): Dataset | undefined {
  return DATASETS.find((d) => d.table === name || d.prefix === name);
}
