import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Worker as WorkerType } from "node:worker_threads";
import { UnavailableError } from "../lib/errors";
import type { Database, DatabaseHandle } from "./client";
import { timed } from "./client";
import { assertChannel, pgListener } from "./listen";
import * as schema from "./schema";

/**
 * The embedded database (PGlite with pgvector), three ways:
 * - in-process: this process opens the data directory (the CLI, tests, the bench);
 * - server: this process runs PGlite in a worker thread and serves it over a Unix socket
 *   (the app: its event loop never waits on PGlite, and the CLI can connect meanwhile);
 * - client: another process serves it (the app is running); this one connects through the
 *   socket with node-postgres.
 * A lock file next to the data directory names the owning process, and a server file its
 * socket, so a second process either connects or gets a clear message — never two owners.
 */
export async function openPglite(
  dir: string,
  migrationsFolder: string,
  options: { serve: boolean },
): Promise<DatabaseHandle> {
  const inMemory = dir === "memory://";
  if (!inMemory) {
    const served = servedBy(dir);
    if (served) return connectToServer(dir, served, migrationsFolder);
  }
  const releaseLock = inMemory ? () => {} : lockDataDir(dir);
  try {
    return options.serve
      ? await serve(dir, migrationsFolder, releaseLock)
      : await openInProcess(dir, migrationsFolder, releaseLock);
  } catch (error) {
    releaseLock();
    if (error instanceof UnavailableError) throw error;
    throw new UnavailableError(
      `cannot open the embedded database at ${dir}: ${(error as Error).message}`,
      "database_unavailable",
      { cause: error },
    );
  }
}

/**
 * PGlite's shared buffers: 256 MB instead of Postgres's default 128 MB. Every page PGlite
 * misses is read through its file system layer, one call per 8 kB page; a search touches a
 * few thousand (HNSW graph, GIN postings, heap rows). Measured on the bench's 103,646 chunks
 * (`bench/search-profile.ts`, 200 hybrid queries): the vector statement 22.8 → 11.2 ms a query,
 * the whole search p50 56.7 → 45.2 ms (384 MB: 39.3 ms; 512 MB and 1 GB no better than
 * 384). Only pages in use take memory, so a small database costs nothing more.
 */
export const PGLITE_SHARED_BUFFERS = "256MB";

/**
 * Ballast's settings, appended to PGlite's own start parameters wherever a PGlite starts: in
 * this process, and in the app's worker (db/pglite-server.mjs, which gets them as workerData).
 */
const SETTINGS = ["-c", `shared_buffers=${PGLITE_SHARED_BUFFERS}`];

async function openInProcess(
  dir: string,
  migrationsFolder: string,
  releaseLock: () => void,
): Promise<DatabaseHandle> {
  const [{ PGlite }, { vector }, { drizzle }, { migrate }] = await Promise.all([
    import("@electric-sql/pglite"),
    import("@electric-sql/pglite-pgvector"),
    import("drizzle-orm/pglite"),
    import("drizzle-orm/pglite/migrator"),
  ]);
  const inMemory = dir === "memory://";
  const options = {
    extensions: { vector },
    startParams: [...PGlite.defaultStartParams, ...SETTINGS],
  };
  let client: InstanceType<typeof PGlite>;
  if (!inMemory) {
    // A new data directory starts from the template too, when one exists (it is made by the
    // first in-memory database): the CLI's first command on a fresh data dir skips initdb.
    const fresh = !existsSync(path.join(dir, "PG_VERSION"));
    const template = fresh ? memoryTemplatePath(migrationsFolder) : undefined;
    const dump = template && existsSync(template) ? readTemplate(template) : undefined;
    const loaded = dump
      ? await PGlite.create(dir, { ...options, loadDataDir: dump }).catch(() => {
          rmSync(dir, { recursive: true, force: true });
          return undefined;
        })
      : undefined;
    client = loaded ?? (await PGlite.create(dir, options));
  } else {
    // An in-memory database (tests, the replay sandbox, the eval) starts from a migrated
    // template when this machine has one for these migrations: a fresh PGlite runs initdb,
    // seconds of CPU each time, while loading a data directory takes a fraction of it.
    const template = memoryTemplatePath(migrationsFolder);
    const dump = template ? readTemplate(template) : undefined;
    const loaded = dump
      ? await PGlite.create({ ...options, loadDataDir: dump }).catch(() => undefined)
      : undefined;
    client = loaded ?? (await PGlite.create(options));
    if (template && !loaded) {
      await migrate(drizzle(client, { schema }), { migrationsFolder });
      await writeTemplateAsync(template, await client.dumpDataDir("none"));
    }
  }
  const db = drizzle(client, { schema });
  let closed = false;
  return {
    db: db as unknown as Database,
    driver: "pglite",
    embedded: "in-process",
    location: inMemory ? "memory" : dir,
    migrate: () => migrate(db, { migrationsFolder }),
    ping: () => timed(() => client.query("select 1")),
    async listen(channel, onPayload) {
      assertChannel(channel);
      const unlisten = await client.listen(channel, onPayload);
      return () => unlisten();
    },
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
      releaseLock();
    },
  };
}

/**
 * Where the migrated in-memory template for these migrations lives: a file in the temp
 * directory named by a hash of PGlite's version and every migration file (name and content),
 * so a changed migration or PGlite makes a new template. Undefined when the folder cannot be read.
 */
function memoryTemplatePath(migrationsFolder: string): string | undefined {
  // Hashed once per folder and process: a test file or the replay sandbox opens many databases.
  if (!templatePaths.has(migrationsFolder))
    templatePaths.set(migrationsFolder, hashTemplatePath(migrationsFolder));
  return templatePaths.get(migrationsFolder);
}

const templatePaths = new Map<string, string | undefined>();

function hashTemplatePath(migrationsFolder: string): string | undefined {
  try {
    const hash = createHash("sha256").update(pgliteVersion());
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true })
        .flatMap((e) =>
          e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)],
        )
        .sort();
    for (const file of files(migrationsFolder))
      hash.update(path.relative(migrationsFolder, file)).update("\0").update(readFileSync(file));
    return path.join(tmpdir(), `ballast-pglite-template-${hash.digest("hex").slice(0, 24)}.tar`);
  } catch {
    return undefined;
  }
}

function pgliteVersion(): string {
  try {
    // The package exports no package.json: walk up from its entry point.
    let dir = path.dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite"));
    for (let i = 0; i < 4; i++, dir = path.dirname(dir)) {
      const pkg = path.join(dir, "package.json");
      if (existsSync(pkg))
        return (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
    }
  } catch {
    // fall through
  }
  return "unknown";
}

function readTemplate(file: string): Blob | undefined {
  try {
    return new Blob([readFileSync(file)]);
  } catch {
    return undefined;
  }
}

/** Written beside and renamed into place, so a concurrent reader never sees half a file. */
async function writeTemplateAsync(file: string, dump: Blob): Promise<void> {
  const partial = `${file}.${process.pid}.partial`;
  try {
    writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
    renameSync(partial, file);
  } catch {
    rmSync(partial, { force: true });
  }
}

interface ServerInfo {
  pid: number;
  socketDir: string;
}

const serverFile = (dir: string) => `${dir.replace(/\/+$/, "")}.server.json`;
const lockFile = (dir: string) => `${dir.replace(/\/+$/, "")}.lock`;
const socketPath = (socketDir: string) => path.join(socketDir, ".s.PGSQL.5432");

/** The live server of this data directory, if one runs. */
function servedBy(dir: string): ServerInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(serverFile(dir), "utf8")) as ServerInfo;
    const owner = Number.parseInt(readFileSync(lockFile(dir), "utf8"), 10);
    if (
      info.pid === owner &&
      owner !== process.pid &&
      isAlive(owner) &&
      existsSync(socketPath(info.socketDir))
    )
      return info;
  } catch {
    // no server file, or no lock: not served
  }
  return undefined;
}

/**
 * Where the embedded database of `dir` is served when it is (`serve`): the socket directory
 * (node-postgres's `host`) and the socket itself.
 */
export function embeddedSocket(dir: string): { socketDir: string; socketPath: string } {
  const socketDir = socketDirFor(dir);
  return { socketDir, socketPath: socketPath(socketDir) };
}

/** A short socket directory (Unix socket paths are limited to ~107 bytes), private to the user. */
function socketDirFor(dir: string): string {
  const key = createHash("sha256").update(path.resolve(dir)).digest("hex").slice(0, 12);
  return path.join(tmpdir(), `ballast-pg-${key}`);
}

/** Where the worker's script is: db/pglite-server.mjs under the project root. */
function serverScript(migrationsFolder: string): string {
  const beside = path.resolve(migrationsFolder, "..", "pglite-server.mjs");
  if (existsSync(beside)) return beside;
  return path.resolve("db", "pglite-server.mjs");
}

async function pgPool(socketDir: string, max: number) {
  const pg = await import("pg");
  const pool = new pg.default.Pool({
    host: socketDir,
    port: 5432,
    user: "postgres",
    database: "postgres",
    max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 30_000,
  });
  pool.on("error", () => {});
  // pg-pool drops its error listener from a client while it is checked out: a connection that
  // breaks mid-transaction would then emit an unhandled 'error' and end the process. The query
  // in flight rejects with the same error (a retryable step failure), so a no-op suffices.
  pool.on("connect", (client) => client.on("error", () => {}));
  return pool;
}

async function pgHandle(
  pool: Awaited<ReturnType<typeof pgPool>>,
  location: string,
  embedded: "server" | "client",
  migrationsFolder: string,
  onClose: () => Promise<void>,
): Promise<DatabaseHandle> {
  const [{ drizzle }, { migrate }] = await Promise.all([
    import("drizzle-orm/node-postgres"),
    import("drizzle-orm/node-postgres/migrator"),
  ]);
  const db = drizzle(pool, { schema });
  const listener = pgListener(() => pool.connect());
  let closed = false;
  return {
    db: db as unknown as Database,
    driver: "pglite",
    embedded,
    location,
    migrate: () => migrate(db, { migrationsFolder }),
    ping: () => timed(() => pool.query("select 1")),
    listen: listener.listen,
    async close() {
      if (closed) return;
      closed = true;
      await listener.close();
      await pool.end();
      await onClose();
    },
  };
}

async function serve(
  dir: string,
  migrationsFolder: string,
  releaseLock: () => void,
): Promise<DatabaseHandle> {
  const socketDir = socketDirFor(dir);
  mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  // Taken at run time: bundlers rewrite a literal `new Worker(...)` into their own worker
  // loader, and this one must load db/pglite-server.mjs from disk as it is.
  const { Worker } = process.getBuiltinModule("node:worker_threads") as {
    Worker: typeof WorkerType;
  };
  const worker = new Worker(serverScript(migrationsFolder), {
    workerData: { dataDir: dir, socketDir, settings: SETTINGS },
  });
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const onMessage = (message: { type?: string }) => {
      if (message?.type !== "ready") return;
      worker.off("error", reject);
      resolve();
    };
    worker.on("message", onMessage);
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the database worker exited (${code})`)));
  });
  if (dir !== "memory://")
    writeFileSync(serverFile(dir), JSON.stringify({ pid: process.pid, socketDir }));
  const pool = await pgPool(socketDir, 8);
  return pgHandle(
    pool,
    dir === "memory://" ? "memory" : dir,
    "server",
    migrationsFolder,
    async () => {
      const closed = new Promise<void>((resolve) => {
        worker.on("message", (m: { type?: string }) => {
          if (m?.type === "closed") resolve();
        });
      });
      worker.postMessage({ type: "close" });
      await Promise.race([closed, exited]);
      await worker.terminate();
      if (dir !== "memory://") rmSync(serverFile(dir), { force: true });
      releaseLock();
    },
  );
}

async function connectToServer(
  dir: string,
  info: ServerInfo,
  migrationsFolder: string,
): Promise<DatabaseHandle> {
  const pool = await pgPool(info.socketDir, 2);
  return pgHandle(
    pool,
    `${dir} (served by pid ${info.pid})`,
    "client",
    migrationsFolder,
    async () => {},
  );
}

/**
 * PGlite is a single-process database: two processes opening one data directory corrupt it.
 * A lock file with the owner's pid makes the second one connect to its server, or fail with
 * a clear message when the owner does not serve it.
 */
function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = lockFile(dir);
  if (existsSync(file)) {
    const owner = Number.parseInt(readFileSync(file, "utf8"), 10);
    if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
      throw new UnavailableError(
        `the embedded database at ${dir} is in use by another process (pid ${owner}) that does not share it; stop it first (a running app shares it: start the app, then use the CLI), or set DATABASE_URL to a Postgres server that several processes can share`,
        "database_locked",
      );
    }
  }
  writeFileSync(file, String(process.pid));
  const release = () => {
    try {
      if (readFileSync(file, "utf8") === String(process.pid)) rmSync(file);
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
