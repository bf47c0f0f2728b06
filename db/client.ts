import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type { Config } from "../lib/config";
import { UnavailableError } from "../lib/errors";
import { elapsedMs } from "../lib/timing";
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
  migrate(): Promise<void>;
  ping(): Promise<{ latencyMs: number }>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Apply migrations on open. Default: true for PGlite (the embedded default), false otherwise. */
  migrate?: boolean;
  migrationsFolder?: string;
}

/** Opens the database DATABASE_URL points at: PGlite when unset, Neon for *.neon.tech, else node-postgres. */
export async function openDatabase(
  config: Config["database"],
  options: OpenOptions = {},
): Promise<DatabaseHandle> {
  const migrationsFolder = options.migrationsFolder ?? findMigrationsFolder();
  const handle =
    config.driver === "pglite"
      ? await openPglite(config.pgliteDir, migrationsFolder)
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

async function timed(run: () => Promise<unknown>): Promise<{ latencyMs: number }> {
  const started = performance.now();
  await run();
  return { latencyMs: elapsedMs(started) };
}

async function openPglite(dir: string, migrationsFolder: string): Promise<DatabaseHandle> {
  const [{ PGlite }, { vector }, { drizzle }, { migrate }] = await Promise.all([
    import("@electric-sql/pglite"),
    import("@electric-sql/pglite-pgvector"),
    import("drizzle-orm/pglite"),
    import("drizzle-orm/pglite/migrator"),
  ]);
  const inMemory = dir === "memory://";
  const releaseLock = inMemory ? () => {} : lockDataDir(dir);
  let client: InstanceType<typeof PGlite>;
  try {
    client = inMemory
      ? await PGlite.create({ extensions: { vector } })
      : await PGlite.create(dir, { extensions: { vector } });
  } catch (error) {
    releaseLock();
    throw new UnavailableError(
      `cannot open the embedded database at ${dir}: ${(error as Error).message}`,
      "database_unavailable",
      { cause: error },
    );
  }
  const db = drizzle(client, { schema });
  let closed = false;
  return {
    db: db as unknown as Database,
    driver: "pglite",
    location: inMemory ? "memory" : dir,
    migrate: () => migrate(db, { migrationsFolder }),
    ping: () => timed(() => client.query("select 1")),
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
      releaseLock();
    },
  };
}

/**
 * PGlite is a single-process database: two processes on one data directory corrupt it.
 * A lock file with the owner's pid makes the second one fail with a clear message instead.
 */
function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const lockFile = `${dir.replace(/\/+$/, "")}.lock`;
  if (existsSync(lockFile)) {
    const owner = Number.parseInt(readFileSync(lockFile, "utf8"), 10);
    if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
      throw new UnavailableError(
        `the embedded database at ${dir} is in use by another process (pid ${owner}); stop it first, or set DATABASE_URL to a Postgres server that several processes can share`,
        "database_locked",
      );
    }
  }
  writeFileSync(lockFile, String(process.pid));
  const release = () => {
    try {
      if (readFileSync(lockFile, "utf8") === String(process.pid)) rmSync(lockFile);
    } catch {
      // already gone
    }
  };
  process.once("exit", release);
  return release;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
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
  const db = drizzle(pool, { schema });
  return {
    db: db as unknown as Database,
    driver: "neon",
    location: describeUrl(config.url),
    migrate: () => migrate(db, { migrationsFolder }),
    ping: () => timed(() => db.execute(sql`select 1`)),
    close: () => pool.end(),
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
  const db = drizzle(pool, { schema });
  return {
    db: db as unknown as Database,
    driver: "pg",
    location: describeUrl(config.url),
    migrate: () => migrate(db, { migrationsFolder }),
    ping: () => timed(() => pool.query("select 1")),
    close: () => pool.end(),
  };
}

function describeUrl(url: string | undefined): string {
  if (!url) return "(unset)";
  const parsed = new URL(url);
  return `${parsed.host}${parsed.pathname}`;
}

/** Rows of a raw query, whatever the driver's result shape. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}
