/**
 * The archived datasets' key prefixes, in the order the cleanup handles them (DATASETS in
 * ./datasets.ts, whose entries carry the tables). Imports nothing: `ballast traces restore
 * --dataset` names and checks them without loading drizzle.
 */
export const DATASET_PREFIXES = ["traces", "ledger", "outbox", "webhooks", "dlq"] as const;
export type DatasetPrefix = (typeof DATASET_PREFIXES)[number];
