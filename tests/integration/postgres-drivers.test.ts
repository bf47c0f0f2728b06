import { mkdtemp, rm } from "node:fs/promises";
import { createServer as createHttpServer, type Server } from "node:http";
import {
  type AddressInfo,
  connect,
  createServer as createNetServer,
  type Server as NetServer,
} from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { type DatabaseHandle, openDatabase, rowsOf } from "../../db/client";
import { embeddedSocket, openPglite } from "../../db/pglite";
import { loadConfig } from "../../lib/config";
import { searchChunks } from "../../lib/index/search";
import { addSource } from "../../lib/pipeline/source-records";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { createTestRepo, removeTempDirs } from "../support/git-repo";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

/**
 * The two network drivers, against a real Postgres wire protocol: PGlite (with pgvector)
 * served as `ballast sync` and the app serve it (db/pglite-server.mjs in a worker thread, which
 * also answers COPY FROM STDIN), reached over TCP through a forwarder to its Unix socket.
 * node-postgres connects directly; the Neon serverless driver connects through a
 * WebSocket-to-TCP proxy, as it does to Neon.
 */
describe("Postgres drivers chosen by DATABASE_URL", () => {
  let served: DatabaseHandle;
  let dataDir: string;
  let forwarder: NetServer;
  let url: string;
  let proxy: Server;
  let proxyPort: number;
  let wss: WebSocketServer;

  beforeAll(async () => {
    dataDir = path.join(await mkdtemp(path.join(tmpdir(), "ballast-pg-drivers-")), "pglite");
    served = await openPglite(dataDir, path.resolve("db/migrations"), { serve: true });
    const { socketPath } = embeddedSocket(dataDir);
    forwarder = createNetServer((client) => {
      const upstream = connect(socketPath);
      client.pipe(upstream).pipe(client);
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
    });
    await new Promise<void>((resolve) => forwarder.listen(0, "127.0.0.1", resolve));
    const port = (forwarder.address() as AddressInfo).port;
    url = `postgres://postgres:planted-db-password@127.0.0.1:${port}/postgres`;

    proxy = createHttpServer();
    wss = new WebSocketServer({ server: proxy });
    wss.on("connection", (socket) => {
      const tcp = connect(port, "127.0.0.1");
      socket.on("message", (data) => tcp.write(data as Buffer));
      tcp.on("data", (data) => socket.send(data));
      socket.on("close", () => tcp.destroy());
      tcp.on("close", () => socket.close());
      tcp.on("error", () => socket.close());
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    proxyPort = (proxy.address() as AddressInfo).port;
  });

  afterAll(async () => {
    // Upgraded WebSocket connections are no longer tracked by the HTTP server: end them first.
    for (const client of wss?.clients ?? []) client.terminate();
    wss?.close();
    await new Promise((resolve) => proxy?.close(resolve));
    forwarder?.close();
    await served?.close();
    if (dataDir) await rm(path.dirname(dataDir), { recursive: true, force: true });
    await removeTempDirs();
  });

  it("picks node-postgres for a plain postgres URL, migrates, and runs the pipeline on it", async () => {
    const config = loadConfig({ BALLAST_ENV: "test", DATABASE_URL: url });
    expect(config.database.driver).toBe("pg");
    const database = await openDatabase(config.database, { migrate: true });
    let rt: TestRuntime | undefined;
    try {
      expect(database.driver).toBe("pg");
      expect(database.location).not.toContain("planted-db-password");
      rt = await createTestRuntime({}, { database });
      const repo = await createTestRepo();
      await repo.writeMany({
        "src/queue.ts":
          "export function drainQueue(queue: string[]) {\n  return queue.splice(0);\n}\n",
      });
      await repo.commit("initial");
      const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "over-pg" });
      const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
      expect(run.status).toBe("succeeded");
      const hits = await searchChunks(rt.db, rt.embedder, { query: "drain queue", k: 1 });
      expect(hits[0]?.path).toBe("src/queue.ts");
    } finally {
      await rt?.redis.close();
      await database.close();
    }
  });

  it("picks the Neon serverless driver for a neon.tech URL and speaks to Postgres over WebSockets", async () => {
    const neonUrl = "postgres://app:secret@ep-quiet-tree-123456.us-east-2.aws.neon.tech/ballast";
    expect(loadConfig({ BALLAST_ENV: "test", DATABASE_URL: neonUrl }).database.driver).toBe("neon");
    const config = loadConfig({
      BALLAST_ENV: "test",
      DATABASE_URL: url,
      DATABASE_DRIVER: "neon",
      NEON_WS_PROXY: `127.0.0.1:${proxyPort}/v2`,
    });
    let database: DatabaseHandle | undefined;
    try {
      database = await openDatabase(config.database, { migrate: false });
      expect(database.driver).toBe("neon");
      expect((await database.ping()).latencyMs).toBeGreaterThanOrEqual(0);
      const rows = rowsOf<{ name: string }>(
        await database.db.execute(sql`select name from sources order by name`),
      );
      expect(rows.map((r) => r.name)).toContain("over-pg");
      const inTx = await database.db.transaction(async (tx) =>
        rowsOf<{ n: number }>(await tx.execute(sql`select 41 + 1 as n`)),
      );
      expect(inTx[0]?.n).toBe(42);
    } finally {
      await database?.close();
    }
  });

  it("reports an unreachable database clearly", async () => {
    const config = loadConfig({
      BALLAST_ENV: "test",
      DATABASE_URL: "postgres://u:pw-never-shown@127.0.0.1:9/none",
    });
    const database = await openDatabase(config.database, { migrate: false });
    try {
      await expect(database.ping()).rejects.toThrow(/ECONNREFUSED|connect/);
    } finally {
      await database.close();
    }
  });
});
