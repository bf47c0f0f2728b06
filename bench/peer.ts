import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { PostgresRecordManager } from "@langchain/community/indexes/postgres";
import { PGVectorStore } from "@langchain/community/vectorstores/pgvector";
import type { Document } from "@langchain/core/documents";
import { Embeddings } from "@langchain/core/embeddings";
import { index } from "@langchain/core/indexing";
import { RecursiveCharacterTextSplitter } from "@langchain/textsplitters";
import pg from "pg";
import { LocalHashEmbedder } from "../lib/embedding/local";
import { git } from "./git";
import { type MemoryReport, MemorySampler } from "./memory";

/**
 * The peer: what a team would use instead of Ballast for the indexing half, LangChain's
 * indexing API — `index()` with a PostgresRecordManager and a PGVectorStore — on the same
 * engine (PGlite 0.5.14 + pgvector, served over the Postgres wire protocol by
 * @electric-sql/pglite-socket, since LangChain talks to Postgres through `pg`), the same
 * corpus, the same embedder (Ballast's local hashing embedder, wrapped as a LangChain
 * Embeddings), RecursiveCharacterTextSplitter with the same size and overlap, batches of
 * 1,000, then an HNSW cosine index with Ballast's build parameters (m 16, ef_construction 40,
 * 512 MB maintenance memory). pglite-socket takes one connection at a time: every pool has
 * max 1, and the store is built with its constructor plus ensureTableInDatabase (initialize()
 * would hold the only connection).
 */

class LocalEmbeddings extends Embeddings {
  private readonly inner: LocalHashEmbedder;
  constructor(dimensions: number) {
    super({});
    this.inner = new LocalHashEmbedder(dimensions);
  }
  async embedDocuments(texts: string[]): Promise<number[][]> {
    const { vectors } = await this.inner.embedDocuments(texts);
    return vectors.map((v) => Array.from(v));
  }
  async embedQuery(text: string): Promise<number[]> {
    return Array.from(this.inner.embedSync(text));
  }
}

export interface PeerSync {
  files: number;
  chunks: number;
  /** Reading, splitting, hashing, embedding and writing through index(). */
  loadMs: number;
  /** The HNSW build after the load (0 for the incremental run: the index is live). */
  indexMs: number;
  totalMs: number;
  filesPerMinute: number;
  added: number;
  updated: number;
  deleted: number;
  skipped: number;
  memory: MemoryReport;
}

export interface PeerSearch {
  efSearch: number;
  queries: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  recallAt10: number;
}

export interface PeerHandle {
  fullSync(repoDir: string): Promise<PeerSync>;
  incrementalSync(repoDir: string): Promise<PeerSync>;
  search(queries: string[], warmup: number, efSearch: number): Promise<PeerSearch>;
  recall(queries: string[], efSearch: number): Promise<number>;
  close(): Promise<void>;
}

const TABLE = "langchain_pg_embedding";
/** Queries whose top 10 is compared with exact search (each exact search scans the table). */
const RECALL_SAMPLE = 50;

export async function openPeer(
  dataDir: string,
  options: { dimensions: number; size: number; overlap: number },
): Promise<PeerHandle> {
  await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir, { extensions: { vector } });
  // pg reaches a Unix socket as <host>/.s.PGSQL.<port>: serve that name.
  const socketDir = await mkdtemp(path.join(tmpdir(), "ballast-peer-"));
  const server = new PGLiteSocketServer({ db, path: path.join(socketDir, ".s.PGSQL.5432") });
  await server.start();
  const pool = new pg.Pool({
    host: socketDir,
    port: 5432,
    max: 1,
    user: "postgres",
    database: "postgres",
  });
  const embeddings = new LocalEmbeddings(options.dimensions);
  const vectorStore = new PGVectorStore(embeddings, { pool, tableName: TABLE });
  await vectorStore.ensureTableInDatabase(options.dimensions);
  const recordManager = new PostgresRecordManager("ballast-bench", { pool });
  await recordManager.createSchema();
  const splitter = new RecursiveCharacterTextSplitter({
    chunkSize: options.size,
    chunkOverlap: options.overlap,
  });

  async function load(repoDir: string): Promise<Document[]> {
    const files = (await git(repoDir, ["ls-files", "-z"])).split("\0").filter(Boolean);
    const docs: Document[] = [];
    for (const file of files) {
      const text = await readFile(path.join(repoDir, file), "utf8");
      docs.push({ pageContent: text, metadata: { source: file } });
    }
    return docs;
  }

  async function run(repoDir: string, buildIndex: boolean): Promise<PeerSync> {
    const sampler = await new MemorySampler(100).start();
    const started = performance.now();
    const docs = await load(repoDir);
    const chunks = await splitter.splitDocuments(docs);
    const result = await index({
      docsSource: chunks,
      recordManager,
      vectorStore,
      options: { cleanup: "incremental", sourceIdKey: "source", batchSize: 1000 },
    });
    const loaded = performance.now();
    if (buildIndex) {
      await db.exec(`
        set maintenance_work_mem = '512MB';
        drop index if exists ${TABLE}_hnsw;
        create index ${TABLE}_hnsw on ${TABLE} using hnsw (embedding vector_cosine_ops) with (m = 16, ef_construction = 40);
        reset maintenance_work_mem;`);
    }
    const ended = performance.now();
    const memory = await sampler.stop();
    const totalMs = ended - started;
    return {
      files: docs.length,
      chunks: chunks.length,
      loadMs: Math.round(loaded - started),
      indexMs: Math.round(ended - loaded),
      totalMs: Math.round(totalMs),
      filesPerMinute: Math.round(docs.length / (totalMs / 60_000)),
      added: result.numAdded,
      updated: result.numUpdated,
      deleted: result.numDeleted,
      skipped: result.numSkipped,
      memory,
    };
  }

  /**
   * hnsw.ef_search for what follows. The pool has one connection, so a session setting made
   * through it holds for the store's own queries too (holding a client here instead would
   * leave the store waiting for the only connection).
   */
  async function setEfSearch(efSearch: number): Promise<void> {
    await pool.query(`set hnsw.ef_search = ${Math.trunc(efSearch)}`);
  }

  async function recall(queries: string[], efSearch: number): Promise<number> {
    const shares: number[] = [];
    await setEfSearch(efSearch);
    for (const query of queries) {
      const literal = `[${(await embeddings.embedQuery(query)).join(",")}]`;
      const approximate = await pool.query(
        `select id from ${TABLE} order by embedding <=> $1 limit 10`,
        [literal],
      );
      const client = await pool.connect();
      let exact: { rows: { id: string }[] };
      try {
        await client.query("begin");
        await client.query("set local enable_indexscan = off");
        exact = await client.query(`select id from ${TABLE} order by embedding <=> $1 limit 10`, [
          literal,
        ]);
        await client.query("commit");
      } finally {
        client.release();
      }
      const found = new Set(approximate.rows.map((r: { id: string }) => r.id));
      if (exact.rows.length > 0)
        shares.push(exact.rows.filter((r) => found.has(r.id)).length / exact.rows.length);
    }
    return (
      Math.round((shares.reduce((a, b) => a + b, 0) / Math.max(1, shares.length)) * 1000) / 1000
    );
  }

  return {
    fullSync: (repoDir) => run(repoDir, true),
    incrementalSync: (repoDir) => run(repoDir, false),
    async search(queries, warmup, efSearch) {
      const timings: number[] = [];
      await setEfSearch(efSearch);
      for (let i = 0; i < queries.length; i++) {
        const started = performance.now();
        await vectorStore.similaritySearch(queries[i] as string, 10);
        if (i >= warmup) timings.push(performance.now() - started);
      }
      const sorted = timings.sort((a, b) => a - b);
      const q = (p: number) =>
        Math.round(
          (sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0) * 100,
        ) / 100;
      return {
        efSearch,
        queries: timings.length,
        p50Ms: q(0.5),
        p95Ms: q(0.95),
        p99Ms: q(0.99),
        recallAt10: await recall(queries.slice(warmup, warmup + RECALL_SAMPLE), efSearch),
      };
    },
    recall,
    async close() {
      await pool.end().catch(() => {});
      await server.stop().catch(() => {});
      await db.close();
      await rm(socketDir, { recursive: true, force: true });
    },
  };
}
