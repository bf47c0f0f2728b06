-- Keep each chunk's vector in its row: pgvector's types default to EXTERNAL storage, so in a
-- row with content and lexemes the vector is moved out of line and every exact distance
-- fetches it back from the TOAST table. MAIN moves the text columns out first. Measured with
-- bench/vector-strategies.ts (20,000 chunks): the exact scan takes half the time. Applies to
-- rows written from now on (a sync rewrites the chunks it changes).
ALTER TABLE "chunks" ALTER COLUMN "embedding" SET STORAGE MAIN;
