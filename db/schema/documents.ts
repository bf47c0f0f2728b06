import { sql } from "drizzle-orm";
import {
  bigserial,
  boolean,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { tsvector, unsizedVector } from "./columns";
import { sources } from "./sources";

/**
 * One indexed file. `contentHash` and `configHash` are written in the same transaction
 * as its chunks, so a document is either fully indexed at those hashes or not at all.
 */
export const documents = pgTable(
  "documents",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    sourceId: uuid("source_id")
      .notNull()
      .references(() => sources.id, { onDelete: "cascade" }),
    path: text("path").notNull(),
    blobSha: text("blob_sha"),
    contentHash: text("content_hash").notNull(),
    configHash: text("config_hash").notNull(),
    commitSha: text("commit_sha"),
    language: text("language"),
    byteSize: integer("byte_size").notNull(),
    lineCount: integer("line_count").notNull(),
    chunkCount: integer("chunk_count").notNull(),
    /** Invalid UTF-8 was replaced with U+FFFD. */
    lossy: boolean("lossy").notNull().default(false),
    indexedAt: timestamp("indexed_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("documents_source_path_key").on(t.sourceId, t.path)],
);

/** Chunks with their vectors. Ids are stable: a hash of source, path, config and content. */
export const chunks = pgTable(
  "chunks",
  {
    id: text("id").primaryKey(),
    documentId: uuid("document_id")
      .notNull()
      .references(() => documents.id, { onDelete: "cascade" }),
    sourceId: uuid("source_id").notNull(),
    path: text("path").notNull(),
    ordinal: integer("ordinal").notNull(),
    startLine: integer("start_line").notNull(),
    endLine: integer("end_line").notNull(),
    kind: text("kind").notNull(),
    heading: text("heading"),
    content: text("content").notNull(),
    contentHash: text("content_hash").notNull(),
    tokenCount: integer("token_count").notNull(),
    /** `${provider}:${model}:${dimensions}`; search only compares vectors of one space. */
    embeddingSpace: text("embedding_space").notNull(),
    dims: integer("dims").notNull(),
    embedding: unsizedVector("embedding").notNull(),
    /** Lexical terms with BM25 weights (lib/index/lexical.ts); searched through a GIN index. */
    lexemes: tsvector("lexemes").notNull().default(sql`''::tsvector`),
  },
  (t) => [
    index("chunks_document_idx").on(t.documentId),
    index("chunks_source_idx").on(t.sourceId),
    index("chunks_reuse_idx").on(t.contentHash, t.embeddingSpace),
    index("chunks_lexemes_idx").using("gin", t.lexemes),
  ],
);

/**
 * Document frequency of each lexeme, per source: how many chunks hold it. Kept by the batch
 * writes in the same transaction as the chunks, so IDF is exact and costs one indexed lookup.
 */
export const lexicalTerms = pgTable(
  "lexical_terms",
  {
    term: text("term").notNull(),
    sourceId: uuid("source_id")
      .notNull()
      .references(() => sources.id, { onDelete: "cascade" }),
    df: integer("df").notNull(),
  },
  (t) => [primaryKey({ columns: [t.term, t.sourceId] })],
);

/**
 * Document-frequency deltas of the batches of a bulk load, written in each batch's
 * transaction (one row per batch, arrays) and merged into lexical_terms when the run
 * completes: one merge per run instead of thousands of row updates per batch.
 */
export const lexicalPending = pgTable(
  "lexical_pending",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    sourceId: uuid("source_id")
      .notNull()
      .references(() => sources.id, { onDelete: "cascade" }),
    terms: text("terms").array().notNull(),
    dfs: integer("dfs").array().notNull(),
    chunks: integer("chunks").notNull(),
  },
  (t) => [index("lexical_pending_source_idx").on(t.sourceId)],
);

/** Chunks per source with lexemes: BM25's N. */
export const lexicalSources = pgTable("lexical_sources", {
  sourceId: uuid("source_id")
    .primaryKey()
    .references(() => sources.id, { onDelete: "cascade" }),
  chunks: integer("chunks").notNull().default(0),
});
