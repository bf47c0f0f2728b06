import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { sql } from "drizzle-orm";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binaryCopy, type Database, type DatabaseHandle, rowsOf } from "../../db/client";
import { embeddedSocket, openPglite } from "../../db/pglite";
import { BinaryCopyWriter } from "../../lib/index/copy-binary";
import { chunkLexemes } from "../../lib/index/lexical";
import {
  type ChunkRow,
  insertChunks,
  mergePendingTermStats,
  parseVectorLiteral,
  upsertDocuments,
  vectorLiteral,
} from "../../lib/index/write";
import { addSource } from "../../lib/pipeline/source-records";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

/**
 * The binary COPY path for chunks (insertChunks with lexeme weights) against the unnest insert
 * (the path of Neon's driver): the same rows stored either way read back identically, column by
 * column, including hostile text; a chunk id already stored makes the COPY fall back without
 * losing or duplicating a row; counts stay exact. Twice: on the embedded database in this
 * process (COPY FROM '/dev/blob'), and served from a worker thread as the app serves it, where
 * node-postgres streams COPY FROM STDIN and the server (db/pglite-server.mjs) answers it.
 */

const HOSTILE = [
  "plain ascii text",
  "quotes ' and \" and back\\slash \\N \\\\ and a tab\there",
  "line one\nline two\r\nline three\n",
  "unicode: naïve café Straße 日本語 emoji 🚀 and combining e\u0301",
  "looks like copy: \\.\n\\.\nPGCOPY\n\xff\r\n",
  "sql'); drop table chunks; --",
  "",
];

interface Doc {
  path: string;
  contents: string[];
}

function rowsFor(
  rt: TestRuntime,
  sourceId: string,
  documentIds: Map<string, string>,
  docs: Doc[],
  vectors: Float32Array[],
  weights: boolean,
): ChunkRow[] {
  let v = 0;
  return docs.flatMap((doc) =>
    doc.contents.map((content, ordinal) => {
      const heading = ordinal % 2 === 0 ? `class Sender > method frame${ordinal} 'q'` : null;
      const lexical = chunkLexemes(content, doc.path, heading);
      const vector = vectors[v++] as Float32Array;
      return {
        id: `${sourceId}:${doc.path}#${ordinal}`,
        documentId: documentIds.get(doc.path) as string,
        sourceId,
        path: doc.path,
        ordinal,
        startLine: ordinal * 10 + 1,
        endLine: ordinal * 10 + 9,
        kind: "code",
        heading,
        content,
        contentHash: `hash-${doc.path}-${ordinal}`,
        tokenCount: content.length,
        embeddingSpace: rt.embedder.space,
        dims: rt.embedder.dimensions,
        // The binary path takes values; the text path is given the literal, as before.
        embedding: weights ? vector : vectorLiteral(vector),
        lexemes: lexical.tsvector,
        lexemeList: lexical.lexemes,
        ...(weights ? { lexemeWeights: lexical.weights } : {}),
      };
    }),
  );
}

async function addDocuments(db: Database, sourceId: string, docs: Doc[]) {
  return upsertDocuments(
    db,
    docs.map((d) => ({
      sourceId,
      path: d.path,
      blobSha: null,
      contentHash: `c-${d.path}`,
      configHash: "cfg",
      commitSha: null,
      language: "typescript",
      byteSize: 1,
      lineCount: 1,
      chunkCount: d.contents.length,
      lossy: false,
    })),
  );
}

/** Every column of a source's chunks as Postgres prints it, by id (without source and document ids). */
async function stored(db: Database, sourceId: string) {
  const rows = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select substr(id, length(source_id::text) + 2) as id, path, ordinal, start_line, end_line, kind, heading, content, content_hash, token_count,
             embedding_space, dims, embedding::text as embedding, lexemes::text as lexemes
      from chunks where source_id = ${sourceId} order by id`),
  );
  return rows;
}

async function termStats(db: Database, sourceId: string) {
  const terms = rowsOf<{ term: string; df: number }>(
    await db.execute(
      sql`select term, df from lexical_terms where source_id = ${sourceId} order by term`,
    ),
  );
  const [chunks] = rowsOf<{ chunks: number }>(
    await db.execute(sql`select chunks from lexical_sources where source_id = ${sourceId}`),
  );
  return { terms, chunks: chunks?.chunks ?? 0 };
}

describe.each([
  { where: "in this process", serveDatabase: false },
  { where: "served over its socket (COPY FROM STDIN)", serveDatabase: true },
])("chunk inserts, $where: binary COPY and unnest give the same rows", ({ serveDatabase }) => {
  let rt: TestRuntime;
  const docs: Doc[] = [
    { path: "src/hostile's dir/sender.ts", contents: HOSTILE },
    {
      path: "lib/websocket-server.js",
      contents: Array.from(
        { length: 40 },
        (_, i) =>
          `export function parseJsonConfig${i}(input) {\n  return retries + ${i} * HTTPServer.frame(input);\n}\n`,
      ),
    },
  ];
  const vectors: Float32Array[] = [];

  beforeAll(async () => {
    rt = await createTestRuntime({}, { serveDatabase });
    const texts = docs.flatMap((d) => d.contents);
    vectors.push(...(await rt.embedder.embedDocuments(texts)).vectors);
    // Awkward values as well: tiny, negative, many digits, exact zero.
    const odd = vectors[1] as Float32Array;
    odd[0] = 1e-7;
    odd[1] = -0.9999995;
    odd[2] = 0.1234565;
    odd[3] = 0;
  }, 120_000);

  afterAll(async () => {
    await rt?.close();
  });

  it("offers the binary COPY, knowing whether it is in a transaction", async () => {
    expect(binaryCopy(rt.db)?.inTransaction).toBe(false);
    await rt.db.transaction(async (tx) => {
      expect(binaryCopy(tx as unknown as Database)?.inTransaction).toBe(true);
    });
  });

  it("stores identical rows, vectors, lexemes and term statistics both ways", async () => {
    const viaCopy = await addSource(rt.db, { name: "via-copy", kind: "git", location: "/x/a" });
    const viaUnnest = await addSource(rt.db, { name: "via-unnest", kind: "git", location: "/x/b" });
    await rt.db.transaction(async (tx) => {
      const t = tx as unknown as Database;
      const ids = await addDocuments(t, viaCopy.id, docs);
      await insertChunks(t, rowsFor(rt, viaCopy.id, ids, docs, vectors, true));
    });
    await rt.db.transaction(async (tx) => {
      const t = tx as unknown as Database;
      const ids = await addDocuments(t, viaUnnest.id, docs);
      await insertChunks(t, rowsFor(rt, viaUnnest.id, ids, docs, vectors, false));
    });
    const a = await stored(rt.db, viaCopy.id);
    const b = await stored(rt.db, viaUnnest.id);
    expect(a).toHaveLength(HOSTILE.length + 40);
    expect(a).toEqual(b);
    // The text survived byte for byte, and the odd vector values were rounded as the text path rounds them.
    const hostile = a.filter((r) => String(r.path).startsWith("src/"));
    expect(hostile.map((r) => r.content).sort()).toEqual([...HOSTILE].sort());
    const odd = a.find((r) => r.id === "src/hostile's dir/sender.ts#1")?.embedding;
    expect(parseVectorLiteral(String(odd)).slice(0, 4)).toEqual(
      parseVectorLiteral(vectorLiteral(vectors[1] as Float32Array)).slice(0, 4),
    );
    expect(parseVectorLiteral(String(odd))[0]).toBe(0);
    const stats = await termStats(rt.db, viaCopy.id);
    expect(stats).toEqual(await termStats(rt.db, viaUnnest.id));
    expect(stats.chunks).toBe(HOSTILE.length + 40);
    expect(stats.terms.find((t) => t.term === "parsejsonconfig0")?.df).toBe(1);
  });

  it("falls back when a chunk id is already stored: the new rows go in, the stored one is untouched", async () => {
    const source = await addSource(rt.db, { name: "conflict", kind: "git", location: "/x/c" });
    const ids = await addDocuments(rt.db, source.id, docs);
    const all = rowsFor(rt, source.id, ids, docs, vectors, true);
    const first = all.slice(0, 5);
    await rt.db.transaction((tx) => insertChunks(tx as unknown as Database, first));
    const before = await stored(rt.db, source.id);
    // The same ids again, with other content, among new ones: COPY would fail on the first.
    const again = all.map((r, i) => (i < 5 ? { ...r, content: "changed", ordinal: 99 } : r));
    await rt.db.transaction(async (tx) => {
      await insertChunks(tx as unknown as Database, again, { deferStats: true });
      // Still in the same transaction, which the fallback left usable.
      await tx.execute(sql`select 1`);
    });
    await mergePendingTermStats(rt.db, source.id);
    const after = await stored(rt.db, source.id);
    expect(after).toHaveLength(all.length);
    for (const row of before) expect(after.find((r) => r.id === row.id)).toEqual(row);
    // Each chunk counted once in the statistics: 5 from the first insert, the rest from the second.
    expect((await termStats(rt.db, source.id)).chunks).toBe(all.length);
  });

  it("opens its own transaction when called outside one, and is atomic", async () => {
    const source = await addSource(rt.db, { name: "no-tx", kind: "git", location: "/x/d" });
    const ids = await addDocuments(rt.db, source.id, docs);
    const rows = rowsFor(rt, source.id, ids, docs, vectors, true);
    // A row whose document does not exist violates the foreign key: nothing of the call stays.
    const orphan = { ...(rows[0] as ChunkRow), id: "orphan", documentId: crypto.randomUUID() };
    await expect(insertChunks(rt.db, [...rows, orphan])).rejects.toThrow();
    expect(await stored(rt.db, source.id)).toHaveLength(0);
    expect((await termStats(rt.db, source.id)).chunks).toBe(0);
    await insertChunks(rt.db, rows);
    expect(await stored(rt.db, source.id)).toHaveLength(rows.length);
  });

  it("takes the COPY path in a transaction, and the unnest path after a conflict (seen by which lexemes are stored)", async () => {
    const source = await addSource(rt.db, { name: "probe", kind: "git", location: "/x/e" });
    const ids = await addDocuments(rt.db, source.id, docs);
    const [base] = rowsFor(rt, source.id, ids, docs, vectors, true) as [ChunkRow];
    // The COPY writes lexemeList + lexemeWeights; the unnest insert writes the tsvector text.
    const probe = (id: string): ChunkRow => ({
      ...base,
      id,
      lexemes: "'textpath':1",
      lexemeList: ["copypath"],
      lexemeWeights: "A",
    });
    await rt.db.transaction((tx) => insertChunks(tx as unknown as Database, [probe("p1")]));
    await rt.db.transaction((tx) =>
      insertChunks(tx as unknown as Database, [probe("p1"), probe("p2")]),
    );
    const lexemes = rowsOf<{ id: string; lexemes: string }>(
      await rt.db.execute(
        sql`select id, lexemes::text as lexemes from chunks where id in ('p1', 'p2') order by id`,
      ),
    );
    expect(lexemes).toEqual([
      { id: "p1", lexemes: "'copypath':1A" },
      { id: "p2", lexemes: "'textpath':1" },
    ]);
  });

  it("rejects values the binary format cannot carry, before anything is sent", () => {
    const w = new BinaryCopyWriter(64);
    expect(() => w.uuid("not-a-uuid")).toThrow(RangeError);
    expect(() => w.int4(2 ** 31)).toThrow(RangeError);
    expect(() => w.int4(1.5)).toThrow(RangeError);
    expect(() => w.vector([0.1, Number.NaN])).toThrow(RangeError);
    expect(() => w.vector([])).toThrow(RangeError);
    expect(() => w.tsvector(["ok", "nul\0inside"], "AA")).toThrow(RangeError);
    expect(() => w.tsvector([""], "A")).toThrow(RangeError);
  });
});

/**
 * The served database's COPY FROM STDIN at the protocol's edges, through node-postgres and
 * pg-copy-streams as a client uses them: text format, a client that gives up mid-COPY
 * (CopyFail), a bad row, and the connection and session usable after each.
 */
describe("the served embedded database answers COPY FROM STDIN", () => {
  let dir: string;
  let handle: DatabaseHandle;
  let pool: pg.Pool;

  beforeAll(async () => {
    dir = path.join(await mkdtemp(path.join(tmpdir(), "ballast-copy-served-")), "pglite");
    handle = await openPglite(dir, path.resolve("db/migrations"), { serve: true });
    pool = new pg.Pool({
      host: embeddedSocket(dir).socketDir,
      port: 5432,
      user: "postgres",
      max: 2,
    });
    await pool.query("create table copy_probe (n int primary key, t text)");
  }, 120_000);

  afterAll(async () => {
    await pool?.end();
    await handle?.close();
    await rm(path.dirname(dir), { recursive: true, force: true });
  });

  const copyIn = (client: pg.PoolClient, statement: string, data: string) =>
    pipeline(Readable.from([Buffer.from(data)]), client.query(copyFrom(statement)));

  it("loads text-format rows, quoting and all", async () => {
    const client = await pool.connect();
    try {
      await copyIn(client, "COPY copy_probe (n, t) FROM STDIN", "1\tone\n2\t\\N\n3\ttab\\there\n");
      const { rows } = await client.query("select n, t from copy_probe order by n");
      expect(rows).toEqual([
        { n: 1, t: "one" },
        { n: 2, t: null },
        { n: 3, t: "tab\there" },
      ]);
    } finally {
      client.release();
    }
  });

  it("fails a bad row with Postgres's error and keeps the connection usable", async () => {
    const client = await pool.connect();
    try {
      await expect(
        copyIn(client, "copy copy_probe (n, t) from stdin", "4\tfour\n1\tagain\n"),
      ).rejects.toMatchObject({ code: "23505" });
      expect((await client.query("select count(*)::int as n from copy_probe")).rows[0].n).toBe(3);
    } finally {
      client.release();
    }
  });

  it("rolls back what a client abandons mid-COPY (CopyFail), aborting its transaction", async () => {
    const client = await pool.connect();
    try {
      await client.query("begin");
      await client.query("insert into copy_probe values (10, 'before')");
      const stream = client.query(copyFrom("copy copy_probe (n, t) from stdin"));
      const failed = new Promise<Error>((resolve) => stream.on("error", resolve));
      stream.write("11\televen\n");
      stream.destroy(new Error("the client changed its mind"));
      expect((await failed).message).toMatch(/changed its mind/);
      await expect(client.query("select 1")).rejects.toThrow(/aborted/);
      await client.query("rollback");
      const { rows } = await client.query("select n from copy_probe where n >= 10");
      expect(rows).toEqual([]);
    } finally {
      client.release();
    }
    // Another connection gets the session: nothing was left holding it.
    expect((await pool.query("select count(*)::int as n from copy_probe")).rows[0].n).toBe(3);
  });
});
