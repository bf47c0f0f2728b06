import path from "node:path";
import { sql } from "drizzle-orm";
import { createArchiveStore } from "../lib/archive";
import { loadConfig } from "../lib/config";
import { createLogger } from "../lib/log/logger";
import { archiveDay, countDay } from "../lib/retention/archive";
import { TRACE_DATASET } from "../lib/retention/datasets";
import { createRuntime, type Runtime } from "../lib/runtime";
import { MemorySampler } from "./memory";
import type {
  ArchiveChildResult as ArchiveResult,
  ArchiveChildArgs as ChildArgs,
  SeedChildResult as SeedResult,
} from "./traces";

/**
 * The trace archive measure's child processes (started by measureTraceArchive in
 * bench/traces.ts), so the archive's memory is its own and not the bench's:
 *   seed    <json> — fills a PGlite directory with one day of N trace rows (generate_series in
 *                    SQL), then exits (PGlite's heap after the seeding goes with it);
 *   serve   <json> — serves that database from a worker thread over its Unix socket, as the app
 *                    does, until its stdin ends (prints READY when it listens);
 *   archive <json> — a third process connects to it and archives + verifies + deletes the day
 *                    (streamed: keyset pages → gzip stream → store), sampling its own RSS: the
 *                    process that runs the cleanup, with the database elsewhere as in production
 *                    (PGlite in-process alone holds 300-450 MB of WebAssembly heap).
 * Each prints one line `RESULT <json>` on stdout; progress goes to stderr.
 */

const TRACE_ARCHIVE_DAY = "2026-01-01";

async function open(args: ChildArgs, serveDatabase = false): Promise<Runtime> {
  const config = loadConfig({
    BALLAST_ENV: "development",
    BALLAST_DATA_DIR: args.dataDir,
    PGLITE_DIR: path.join(args.dataDir, "pglite"),
    LOG_LEVEL: "warn",
    TRACES_ENABLED: "false",
  });
  const log = createLogger({
    level: "warn",
    secrets: [],
    destination: { write: (line: string) => process.stderr.write(line) },
  });
  return createRuntime(config, {
    log,
    migrationsFolder: path.join(args.root, "db", "migrations"),
    archive: createArchiveStore({ backend: "folder", dir: path.join(args.dataDir, "archive") }),
    serveDatabase,
  });
}

/** Serves the database (PGlite in a worker thread, over its Unix socket) until stdin ends. */
async function serve(args: ChildArgs): Promise<{ served: true }> {
  const runtime = await open(args, true);
  process.stdout.write("READY\n");
  await new Promise<void>((resolve) => {
    process.stdin.on("end", resolve);
    process.stdin.on("close", resolve);
    process.stdin.resume();
  });
  await runtime.close();
  return { served: true };
}

async function seed(args: ChildArgs): Promise<SeedResult> {
  const runtime = await open(args);
  const day = TRACE_ARCHIVE_DAY;
  // Spread over the day: 86,400,000 ms / rows apart.
  const stepMs = Math.max(1, Math.floor(86_399_000 / args.rows));
  try {
    const started = performance.now();
    // Rows shaped like real envelopes: ids, names, summaries, some errors.
    for (let offset = 0; offset < args.rows; offset += 250_000) {
      const n = Math.min(250_000, args.rows - offset);
      await runtime.db.execute(sql`
        insert into trace_spans (span_id, trace_id, parent_span_id, correlation_id, kind, name, function, driver,
          run_id, source_id, event_id, attempt, status, error_class, error_message, started_at, ended_at, duration_ms,
          input, output, attributes)
        select lpad(to_hex(${offset} + g), 16, '0'), md5('t' || ((${offset} + g) / 50)), lpad(to_hex((${offset} + g) / 50), 16, 'a'),
          'bench:' || ((${offset} + g) / 50), case when g % 4 = 0 then 'external' else 'step' end,
          case when g % 4 = 0 then 'git.cat-file' else 'process-batch' end, 'process-batch', 'inline',
          gen_random_uuid(), gen_random_uuid(), 'evt-' || g, 1 + (g % 3 = 0)::int,
          case when g % 50 = 0 then 'error' else 'ok' end,
          case when g % 50 = 0 then 'UnavailableError:unavailable' end,
          case when g % 50 = 0 then 'upstream failed: HTTP 503 after 3 attempts' end,
          ${`${day}T00:00:00Z`}::timestamptz + ((${offset} + g) * ${stepMs} * interval '1 millisecond'),
          ${`${day}T00:00:00Z`}::timestamptz + ((${offset} + g) * ${stepMs} * interval '1 millisecond') + interval '12 milliseconds',
          12.5 + (g % 100), '{"type":"object","bytes":120,"keys":4,"sha256":"0123456789abcdef"}'::jsonb,
          jsonb_build_object('type', 'object', 'bytes', 80, 'counts', jsonb_build_object('processed', g % 100, 'failed', 0)),
          '{"op":"run","event":"source/batch.requested"}'::jsonb
        from generate_series(1, ${n}) as g`);
      process.stderr.write(`  seeded ${(offset + n).toLocaleString("en-US")} rows\n`);
    }
    await runtime.db.execute(sql`checkpoint`);
    const seedMs = performance.now() - started;
    return { rows: await countDay(runtime.db, TRACE_DATASET, day), seedMs };
  } finally {
    await runtime.close();
  }
}

async function archive(args: ChildArgs): Promise<ArchiveResult> {
  // The serve child holds the database: this process connects through the socket (as the CLI
  // does while the app runs, and as the app does to a managed Postgres), so its memory is the
  // archive's own, not PGlite's.
  const runtime = await open(args);
  if (runtime.database.embedded !== "client")
    throw new Error(`the archive process opened the database ${runtime.database.embedded}`);
  const day = TRACE_ARCHIVE_DAY;
  const pageSize = 5000;
  try {
    const rows = await countDay(runtime.db, TRACE_DATASET, day);
    if (rows !== args.rows) throw new Error(`the seeded day holds ${rows} rows, not ${args.rows}`);
    (globalThis as { gc?: () => void }).gc?.();
    const rssBeforeBytes = process.memoryUsage.rss();
    const sampler = await new MemorySampler(100).start();
    const started = performance.now();
    let verifiedAt = 0;
    let gzipBytes = 0;
    const outcome = await archiveDay(runtime.db, runtime.archive, TRACE_DATASET, day, {
      pageSize,
      beforeDelete: (manifest) => {
        verifiedAt = performance.now();
        gzipBytes = manifest.bytes;
        if (manifest.rows !== rows) throw new Error(`archived ${manifest.rows} of ${rows} rows`);
      },
    });
    const ended = performance.now();
    const memory = await sampler.stop();
    if (outcome.deletedRows !== rows) throw new Error(`deleted ${outcome.deletedRows} of ${rows}`);
    return {
      rows,
      archiveVerifyMs: verifiedAt - started,
      deleteMs: ended - verifiedAt,
      gzipBytes,
      rssBeforeBytes,
      peakRssBytes: Math.max(memory.peakRssBytes, memory.maxRssBytes),
      rssAfterBytes: memory.rssAtEndBytes,
      pageSize,
    };
  } finally {
    await runtime.close();
  }
}

async function main(): Promise<void> {
  const [mode, json] = process.argv.slice(2);
  const args = JSON.parse(json ?? "{}") as ChildArgs;
  const result =
    mode === "seed"
      ? await seed(args)
      : mode === "serve"
        ? await serve(args)
        : mode === "archive"
          ? await archive(args)
          : undefined;
  if (!result) throw new Error(`unknown mode ${mode}`);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `trace archive child failed: ${String((error as Error)?.stack ?? error)}\n`,
    );
    process.exit(1);
  },
);
