-- pgvector provides the vector type and HNSW indexes used by the chunks table.
-- PGlite loads it from @electric-sql/pglite-pgvector; Neon and most hosted Postgres ship it.
CREATE EXTENSION IF NOT EXISTS vector;
