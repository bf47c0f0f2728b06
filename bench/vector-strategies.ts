import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { Command, InvalidArgumentError } from "commander";
import { chunkDocument } from "../lib/chunking";
import { LocalHashEmbedder } from "../lib/embedding/local";
import { vectorLiteral } from "../lib/index/write";
import { generateText, planCorpus } from "./corpus/generate";
import { makeQueries } from "./search";

/**
 * `npx tsx bench/vector-strategies.ts --chunks 30000`: the vector index strategies side by
 * side on the bench corpus's chunks (local embedder, 256 dimensions) in an in-memory PGlite:
 * build time, recall@10 against exact search, p50 / p95 latency of the top-10 query.
 *
 * - exact: a sequential scan of the chunks table (content included, as in `chunks`), and of
 *   a narrow table holding only the vectors;
 * - IVFFlat at lists = rows/1000 and sqrt(rows), probes swept;
 * - HNSW (m 16, ef_construction 40) at several ef_search, plus iterative scans;
 * - binary quantisation: a Hamming scan over bit(256), the best R re-ranked exactly;
 * - halfvec: the exact scan over half-precision vectors.
 * Not part of `npm run bench`: it chose the strategy lib/index/vector-index.ts implements.
 */

const DIMS = 256;

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1000 || n > 500_000)
    throw new InvalidArgumentError("a whole number from 1000 to 500000");
  return n;
}

const opts = new Command()
  .option("--chunks <n>", "chunks to index", count, 30_000)
  .option("--queries <n>", "queries timed (recall and latency)", (v) => Number(v), 100)
  .option("--only <list>", "comma list: exact,narrow,halfvec,binary,ivfflat,hnsw", "")
  .parse()
  .opts<{ chunks: number; queries: number; only: string }>();
const only = new Set(opts.only.split(",").filter(Boolean));
const want = (name: string) => only.size === 0 || only.has(name);
const QUERIES = Math.max(10, Math.min(opts.queries, 1000));

const log = (s: string) => process.stderr.write(`${s}\n`);
const out = (s: string) => process.stdout.write(`${s}\n`);

interface Row {
  content: string;
  vector: string;
}

async function makeChunks(target: number): Promise<Row[]> {
  const embedder = new LocalHashEmbedder(DIMS);
  const rows: Row[] = [];
  for (let round = 0; rows.length < target; round++) {
    const files = Math.ceil((target - rows.length) / 2.5) + 50;
    const spec = { seed: `vector-strategies-${round}`, files, bytes: files * 5000 };
    for (const file of planCorpus(spec)) {
      const text = generateText(spec, file);
      for (const chunk of chunkDocument(file.path, text, { size: 1600, overlap: 160 })) {
        rows.push({ content: chunk.content, vector: "" });
        if (rows.length >= target) break;
      }
      if (rows.length >= target) break;
    }
  }
  const { vectors } = await embedder.embedDocuments(rows.map((r) => r.content));
  rows.forEach((r, i) => {
    r.vector = vectorLiteral(vectors[i] ?? []);
  });
  return rows;
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
const r2 = (n: number) => Math.round(n * 100) / 100;

interface Point {
  strategy: string;
  build: string;
  recall: number;
  p50: number;
  p95: number;
}

async function main(): Promise<void> {
  log(`generating ${opts.chunks} chunks…`);
  const rows = await makeChunks(opts.chunks);
  const db = await PGlite.create({ extensions: { vector } });
  await db.exec(`create extension if not exists vector;
    create table chunks (id int primary key, source_id int not null, content text not null, embedding vector not null, lexemes tsvector);
    create table chunks_main (like chunks including all);
    alter table chunks_main alter column embedding set storage main;
    create table vectors (id int primary key, embedding vector(${DIMS}) not null);
    create table halves (id int primary key, half halfvec(${DIMS}) not null);
    create table bits (id int primary key, bits bit(${DIMS}) not null, embedding vector(${DIMS}) not null);`);
  log("inserting…");
  const t0 = performance.now();
  for (let i = 0; i < rows.length; i += 2000) {
    const slice = rows.slice(i, i + 2000);
    await db.query(
      `insert into chunks select i, 1, c, v::vector from unnest($1::int[], $2::text[], $3::text[]) as t(i, c, v)`,
      [slice.map((_, j) => i + j), slice.map((r) => r.content), slice.map((r) => r.vector)],
    );
  }
  await db.exec(`update chunks set lexemes = to_tsvector('simple', content)`);
  await db.exec("vacuum full chunks");
  await db.exec(`insert into chunks_main select * from chunks`);
  for (const table of ["chunks", "chunks_main"]) {
    const size = await db.query<{ heap: string; toast: string }>(
      `select pg_size_pretty(pg_relation_size('${table}')) as heap,
        pg_size_pretty(pg_relation_size(reltoastrelid)) as toast from pg_class where relname = '${table}'`,
    );
    log(`${table}: heap ${size.rows[0]?.heap}, toast ${size.rows[0]?.toast}`);
  }
  await db.exec(`insert into vectors select id, embedding::vector(${DIMS}) from chunks;
    insert into halves select id, embedding::halfvec(${DIMS}) from chunks; analyze;`);
  log(`inserted in ${Math.round(performance.now() - t0)} ms`);

  const embedder = new LocalHashEmbedder(DIMS);
  const queries = makeQueries("vector-strategies", QUERIES).map((q) =>
    vectorLiteral(embedder.embedSync(q)),
  );
  const points: Point[] = [];

  const run = async (
    strategy: string,
    build: string,
    sqlText: string,
    setup = "",
  ): Promise<number[][]> => {
    const results: number[][] = [];
    const timings: number[] = [];
    for (let i = 0; i < queries.length + 5; i++) {
      const q = queries[i % queries.length] as string;
      const started = performance.now();
      const res = await db.transaction(async (tx) => {
        if (setup) await tx.exec(setup);
        return tx.query<{ id: number }>(sqlText, [q]);
      });
      const ms = performance.now() - started;
      if (i < 5) continue; // warm-up
      timings.push(ms);
      results.push(res.rows.map((r) => Number(r.id)));
    }
    timings.sort((a, b) => a - b);
    const recall =
      truth.length === 0
        ? 1
        : results.reduce(
            (sum, ids, i) =>
              sum + ids.filter((id) => truth[i]?.has(id)).length / (truth[i]?.size || 1),
            0,
          ) / results.length;
    const point = {
      strategy,
      build,
      recall: Math.round(recall * 1000) / 1000,
      p50: r2(pct(timings, 0.5)),
      p95: r2(pct(timings, 0.95)),
    };
    points.push(point);
    log(`${strategy}: recall ${point.recall}, p50 ${point.p50} / p95 ${point.p95} ms (${build})`);
    return results;
  };
  const timeBuild = async (statement: string): Promise<string> => {
    const started = performance.now();
    await db.exec(`set maintenance_work_mem = '512MB'; ${statement}`);
    return `${((performance.now() - started) / 1000).toFixed(1)} s`;
  };

  let truth: Set<number>[] = [];
  const exactSql = `select id from chunks order by embedding::vector(${DIMS}) <=> $1::vector(${DIMS}) limit 10`;
  const exact = await run("exact (chunks table, seq scan)", "none", exactSql);
  truth = exact.map((ids) => new Set(ids));
  points[0] = { ...(points[0] as Point), recall: 1 };

  if (want("main"))
    await run(
      "exact (chunks table, embedding storage main)",
      "none",
      exactSql.replace("from chunks", "from chunks_main"),
    );
  if (want("narrow"))
    await run(
      "exact (narrow vectors table)",
      "none",
      `select id from vectors order by embedding <=> $1::vector(${DIMS}) limit 10`,
    );
  if (want("halfvec")) {
    await run(
      "exact halfvec (narrow table)",
      "none",
      `select id from halves order by half <=> $1::halfvec(${DIMS}) limit 10`,
    );
  }
  if (want("binary")) {
    const build = await timeBuild(
      `insert into bits select id, binary_quantize(embedding)::bit(${DIMS}), embedding from vectors; analyze bits`,
    );
    for (const r of [100, 200, 400, 800])
      await run(
        `binary Hamming scan, top ${r} re-ranked exactly`,
        build,
        `select id from (select id, embedding from bits order by bits <~> binary_quantize($1::vector(${DIMS})) limit ${r}) c
         order by embedding <=> $1::vector(${DIMS}) limit 10`,
      );
  }
  if (want("ivfflat")) {
    for (const lists of [Math.round(rows.length / 1000), Math.round(Math.sqrt(rows.length))].filter(
      (l, i, all) => all.indexOf(l) === i && l >= 2,
    )) {
      const build = await timeBuild(
        `drop index if exists ivf; create index ivf on chunks using ivfflat ((embedding::vector(${DIMS})) vector_cosine_ops) with (lists = ${lists})`,
      );
      for (const probes of [1, 4, 16, 32, 64].filter((p) => p <= lists))
        await run(
          `IVFFlat lists ${lists}, probes ${probes}`,
          build,
          exactSql,
          `set local ivfflat.probes = ${probes}`,
        );
    }
    await db.exec("drop index if exists ivf");
  }
  if (want("hnsw")) {
    const build = await timeBuild(
      `create index hnsw on chunks using hnsw ((embedding::vector(${DIMS})) vector_cosine_ops) with (m = 16, ef_construction = 40)`,
    );
    for (const ef of [40, 100, 200, 400, 800])
      await run(`HNSW ef_search ${ef}`, build, exactSql, `set local hnsw.ef_search = ${ef}`);
    try {
      await run(
        "HNSW ef_search 100, iterative scan (relaxed), 400 re-ranked",
        build,
        `select id from (select id, embedding from chunks order by embedding::vector(${DIMS}) <=> $1::vector(${DIMS}) limit 400) c order by embedding::vector(${DIMS}) <=> $1::vector(${DIMS}) limit 10`,
        "set local hnsw.ef_search = 100; set local hnsw.iterative_scan = relaxed_order",
      );
    } catch (error) {
      log(`iterative scan: ${(error as Error).message}`);
    }
  }
  out(`\n${rows.length} chunks, ${QUERIES} queries, ${DIMS} dimensions (local embedder)\n`);
  out("| strategy | build | recall@10 | p50 ms | p95 ms |");
  out("|---|---|---|---|---|");
  for (const p of points) out(`| ${p.strategy} | ${p.build} | ${p.recall} | ${p.p50} | ${p.p95} |`);
  await db.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
