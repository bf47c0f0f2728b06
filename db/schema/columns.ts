import { customType, timestamp } from "drizzle-orm/pg-core";

/** created_at / updated_at, shared by every table that is edited in place. */
export const timestamps = {
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
};

/**
 * A pgvector `vector` column without a fixed dimension, so switching embedding model or
 * dimensions needs no migration. Each embedding space gets its own partial HNSW index on
 * `(embedding::vector(N))` (see lib/index/vector-index.ts).
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
