-- Leave room on each page of chunks so that moving a chunk (new line numbers after an edit
-- above it) is a HOT update: no new entry in the HNSW index, which costs milliseconds per row.
ALTER TABLE "chunks" SET (fillfactor = 80);
