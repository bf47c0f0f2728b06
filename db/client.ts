import { existsSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { entityKind, sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { type CopyStreamQuery, from as copyFrom } from "pg-copy-streams";
import type { Config } from "../lib/config";
import { elapsedMs } from "../lib/timing";
import { pgListener } from "./listen";
import { openPglite } from "./pglite";
import * as schema from "./schema";

export type Schema = typeof schema;
/** The drizzle database, whichever driver is underneath. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
export type DatabaseDriver = Config["database"]["driver"];

export interface DatabaseHandle {
  readonly db: Database;
  readonly driver: DatabaseDriver;
  /** Where it points, without credentials: a path for PGlite, host/db otherwise. */
  readonly location: string;
  /**
   * For the embedded database: `in-process`, `server` (this process serves it from a worker
   * thread over a Unix socket) or `client` (another process serves it; this one connects).
   */
  readonly embedded?: "in-process" | "server" | "client";
  migrate(): Promise<void>;
  ping(): Promise<{ latencyMs: number }>;
  /**
   * Postgres LISTEN: `onPayload` for each NOTIFY on `channel` (any process writing to this
   * database). Resolves once listening; the returned function stops.
   */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Apply migrations on open. Default: true for PGlite (the embedded default), false otherwise. */
  migrate?: boolean;
  migrationsFolder?: string;
  /**
   * The embedded database only: serve it from a worker thread over a Unix socket (the app
   * does, so its event loop never waits on PGlite and the CLI can connect meanwhile).
   * Default false: in this process.
   */
  serve?: boolean;
}

/** Opens the database DATABASE_URL points at: PGlite when unset, Neon for *.neon.tech, else node-postgres. */
export async function openDatabase(
  config: Config["database"],
  options: OpenOptions = {},
): Promise<DatabaseHandle> {
  const migrationsFolder = options.migrationsFolder ?? findMigrationsFolder();
  const handle =
    config.driver === "pglite"
      ? await openPglite(config.pgliteDir, migrationsFolder, { serve: options.serve === true })
      : config.driver === "neon"
        ? await openNeon(config, migrationsFolder)
        : await openNodePostgres(config, migrationsFolder);
  if (options.migrate ?? config.driver === "pglite") {
    try {
      await handle.migrate();
    } catch (error) {
      await handle.close();
      throw error;
    }
  }
  return handle;
}

/** db/migrations under the working directory (the project root for `next start`, tests and the bench). */
function findMigrationsFolder(): string {
  const dir = path.resolve("db/migrations");
  if (!existsSync(path.join(dir, "meta", "_journal.json")))
    throw new Error(
      `cannot find the migrations at ${dir}; run from the project root or pass migrationsFolder`,
    );
  return dir;
}

export async function timed(run: () => Promise<unknown>): Promise<{ latencyMs: number }> {
  const started = performance.now();
  await run();
  return { latencyMs: elapsedMs(started) };
}

async function openNeon(
  config: Config["database"],
  migrationsFolder: string,
): Promise<DatabaseHandle> {
  const [{ Pool, neonConfig }, { drizzle }, { migrate }, ws] = await Promise.all([
    import("@neondatabase/serverless"),
    import("drizzle-orm/neon-serverless"),
    import("drizzle-orm/neon-serverless/migrator"),
    import("ws"),
  ]);
  neonConfig.webSocketConstructor = ws.default;
  if (config.neonWsProxy) {
    const proxy = config.neonWsProxy;
    neonConfig.wsProxy = () => proxy;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
  const pool = new Pool({ connectionString: config.url, max: 5 });
  pool.on("error", () => {}); // idle-client errors surface on the next query instead of crashing
  // As for node-postgres below: a checked-out client whose connection breaks must not crash.
  pool.on("connect", (client: { on(event: "error", listener: () => void): unknown }) =>
    client.on("error", () => {}),
  );
  const db = drizzle(pool, { schema });
  const listener = pgListener(() => pool.connect());
  return {
    db: db as unknown as Database,
    driver: "neon",
    location: describeUrl(config.url),
    migrate: () => migrate(db, { migrationsFolder }),
    ping: () => timed(() => db.execute(sql`select 1`)),
    listen: listener.listen,
    async close() {
      await listener.close();
      await pool.end();
    },
  };
}

async function openNodePostgres(
  config: Config["database"],
  migrationsFolder: string,
): Promise<DatabaseHandle> {
  const [pg, { drizzle }, { migrate }] = await Promise.all([
    import("pg"),
    import("drizzle-orm/node-postgres"),
    import("drizzle-orm/node-postgres/migrator"),
  ]);
  const pool = new pg.default.Pool({
    connectionString: config.url,
    max: 10,
    connectionTimeoutMillis: 10_000,
  });
  pool.on("error", () => {});
  // pg-pool drops its error listener from a client while it is checked out: a connection that
  // breaks mid-transaction would then emit an unhandled 'error' and end the process. The query
  // in flight rejects with the same error (a retryable step failure), so a no-op suffices.
  pool.on("connect", (client) => client.on("error", () => {}));
  const db = drizzle(pool, { schema });
  const listener = pgListener(() => pool.connect());
  return {
    db: db as unknown as Database,
    driver: "pg",
    location: describeUrl(config.url),
    migrate: () => migrate(db, { migrationsFolder }),
    ping: () => timed(() => pool.query("select 1")),
    listen: listener.listen,
    async close() {
      await listener.close();
      await pool.end();
    },
  };
}

function describeUrl(url: string | undefined): string {
  if (!url) return "(unset)";
  const parsed = new URL(url);
  return `${parsed.host}${parsed.pathname}`;
}

/** Whether the driver's error (or one it causes: drizzle wraps them) has this SQLSTATE. */
export function hasSqlState(error: unknown, code: string): boolean {
  for (let e = error, depth = 0; e && typeof e === "object" && depth < 4; depth++) {
    if ((e as { code?: unknown }).code === code) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Rows of a raw query, whatever the driver's result shape. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

/**
 * The bulk-load door: binary `COPY … FROM` a buffer, no row printed as text and parsed again.
 * In-process PGlite reads it as `/dev/blob` (a Blob given with the call); node-postgres — a
 * Postgres server, or the embedded database served over its socket (db/pglite-server.mjs
 * answers COPY FROM STDIN) — streams it as COPY FROM STDIN (pg-copy-streams). Undefined for
 * Neon's serverless driver, whose callers use ordinary statements instead.
 */
export interface BinaryCopy {
  /** True inside a transaction (a savepoint can be taken). */
  readonly inTransaction: boolean;
  /** Loads `data`, in COPY's binary format, into `target`: a table and its column list. */
  copyBinary(target: string, data: Uint8Array<ArrayBuffer>): Promise<void>;
  /** A statement without parameters or result (SAVEPOINT, RELEASE, ROLLBACK TO). */
  exec(statement: string): Promise<void>;
}

interface PgliteLike {
  query(sql: string, params?: unknown[], options?: { blob?: Blob }): Promise<unknown>;
  transaction?: unknown;
}

interface NodePgClientLike {
  query(statement: string): Promise<unknown>;
  query(stream: CopyStreamQuery): CopyStreamQuery;
  /** Only a checked-out client (drizzle's transaction) has it; the pool has not. */
  release?: unknown;
}

export function binaryCopy(db: Database): BinaryCopy | undefined {
  const session = (db as unknown as { session?: { client?: unknown } }).session;
  const kind = (session?.constructor as unknown as Record<symbol, unknown> | undefined)?.[
    entityKind
  ];
  if (kind === "PgliteSession") {
    const client = session?.client as PgliteLike | undefined;
    if (!client || typeof client.query !== "function") return undefined;
    return {
      // The PGlite instance has transaction(); a transaction object (drizzle's tx) has not.
      inTransaction: typeof client.transaction !== "function",
      async copyBinary(target, data) {
        await client.query(`copy ${target} from '/dev/blob' with (format binary)`, [], {
          blob: new Blob([data]),
        });
      },
      async exec(statement) {
        await client.query(statement);
      },
    };
  }
  if (kind === "NodePgSession") {
    const client = session?.client as NodePgClientLike | undefined;
    if (!client || typeof client.query !== "function") return undefined;
    return {
      inTransaction: typeof client.release === "function",
      async copyBinary(target, data) {
        const stream = client.query(copyFrom(`copy ${target} from stdin with (format binary)`));
        await pipeline(
          Readable.from([Buffer.from(data.buffer, data.byteOffset, data.byteLength)]),
          stream,
        );
      },
      async exec(statement) {
        await client.query(statement);
      },
    };
  }
  return undefined;
}
