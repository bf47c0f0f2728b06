import { customType, doublePrecision, integer, timestamp } from "drizzle-orm/pg-core";

/** created_at / updated_at, shared by every table that is edited in place. */
export const timestamps = {
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
};

/** What indexing did, per document (run items) and summed per run: chunks, tokens, cost. */
export const indexingWork = () => ({
  chunksWritten: integer("chunks_written").notNull().default(0),
  chunksEmbedded: integer("chunks_embedded").notNull().default(0),
  chunksReused: integer("chunks_reused").notNull().default(0),
  chunksDeleted: integer("chunks_deleted").notNull().default(0),
  tokens: integer("tokens").notNull().default(0),
  costUsd: doublePrecision("cost_usd").notNull().default(0),
});

/**
 * A pgvector `vector` column without a fixed dimension, so switching embedding model or
 * dimensions needs no migration. Each embedding space gets its own partial HNSW index on
 * `(embedding::vector(N))` (see lib/index/vector-index.ts). Its storage is MAIN (migration
 * 0014_vector_storage): the vector stays in the row, so an exact scan reads no TOAST.
 */
export const unsizedVector = customType<{ data: number[]; driverData: string }>({
  dataType() {
    return "vector";
  },
  toDriver(value) {
    return `[${value.join(",")}]`;
  },
  fromDriver(value) {
    return JSON.parse(value) as number[];
  },
});

/**
 * A Postgres `tsvector` (core full-text type). Ballast writes it as a literal it builds itself
 * (lib/index/lexical.ts), so no text search configuration is involved.
 */
export const tsvector = customType<{ data: string; driverData: string }>({
  dataType() {
    return "tsvector";
  },
});
