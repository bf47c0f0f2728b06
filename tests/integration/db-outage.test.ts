import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { rowsOf } from "../../db/client";
import { addSource } from "../../lib/pipeline/source-records";
import { classifyError } from "../../lib/resilience/retry";
import { workflows } from "../../lib/workflows";
import { SYNC_REQUESTED } from "../../lib/workflows/events";
import type { StepAttempt } from "../../lib/workflows/execute";
import { runInline } from "../../lib/workflows/inline";
import { syncSourceWorkflow } from "../../lib/workflows/sync-source";
import { PROJECT_ROOT } from "../support/cli";
import { createTestRepo, makeTempDir, removeTempDirs } from "../support/git-repo";
import { freshFullSyncSnapshot, snapshotIndex } from "../support/index-snapshot";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

const report = (line: string) => process.stdout.write(`${line}\n`);
const SERVER_SCRIPT = path.join(PROJECT_ROOT, "tests/support/pglite-server-process.ts");

/** The embedded database server in a process of its own (as the app serves it). */
interface DatabaseProcess {
  child: ChildProcess;
  socketPath: string;
}

async function startDatabaseProcess(dir: string): Promise<DatabaseProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", SERVER_SCRIPT, dir], {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const socketPath = await new Promise<string>((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve((JSON.parse(line) as { socketPath: string }).socketPath);
    });
    child.once("exit", (code) => reject(new Error(`database process exited ${code}: ${err}`)));
  });
  return { child, socketPath };
}

/**
 * A TCP proxy in front of the database's Unix socket: the network edge. It watches what the
 * clients send and calls `onStatement` when a statement matches, before forwarding it, so a
 * test can take the database away at that exact moment.
 */
interface EdgeProxy {
  port: number;
  close(): Promise<void>;
}

function startEdgeProxy(
  upstream: () => string,
  onStatement: (text: string, connectionLog: string) => Promise<void> | void,
): Promise<EdgeProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    const db = connect(upstream());
    sockets.add(db);
    let log = "";
    let paused: Promise<void> = Promise.resolve();
    const end = () => {
      client.destroy();
      db.destroy();
      sockets.delete(client);
      sockets.delete(db);
    };
    client.on("data", (data: Buffer) => {
      const text = data.toString("latin1");
      log = (log + text).slice(-20_000);
      paused = paused.then(async () => {
        await onStatement(text, log);
        if (!db.destroyed) db.write(data);
      });
    });
    db.on("data", (data: Buffer) => {
      if (!client.destroyed) client.write(data);
    });
    client.on("close", end);
    db.on("close", end);
    client.on("error", end);
    db.on("error", end);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        async close() {
          for (const s of sockets) s.destroy();
          await new Promise((r) => server.close(r));
        },
      }),
    );
  });
}

/**
 * A database outage mid-batch: the embedded database server (its own process, reached over
 * the Postgres wire protocol through a TCP hop) is SIGKILLed while a batch's write
 * transaction is open — its documents already upserted, its chunk COPY on the wire. The
 * batch step fails with a retryable error; between the failed attempt and the retry the
 * database comes back (crash recovery) holding none of the failed attempt's rows; the retry
 * completes the batch, and the index equals a clean sync's.
 */
describe("a database outage mid-batch", () => {
  let database: DatabaseProcess | undefined;
  let proxy: EdgeProxy | undefined;
  let rt: TestRuntime | undefined;

  afterAll(async () => {
    await rt?.close();
    await proxy?.close();
    if (database && database.child.exitCode === null && database.child.signalCode === null) {
      database.child.kill("SIGTERM");
      await once(database.child, "exit");
    }
    await removeTempDirs();
  });

  it("fails the batch step retryably, rolls the open transaction back, and the retry leaves the index exact", async () => {
    const repo = await createTestRepo();
    const files: Record<string, string> = {};
    for (let i = 0; i < 15; i++)
      files[`src/part-${String(i).padStart(2, "0")}.ts`] =
        `// Part ${i}\nexport function part${i}(value: number): number {\n  return value * ${i + 2};\n}\n`;
    await repo.writeMany(files);
    await repo.commit("initial");

    const dataDir = await makeTempDir("ballast-db-outage-");
    const pgliteDir = path.join(dataDir, "pglite");
    database = await startDatabaseProcess(pgliteDir);
    const socketPath = database.socketPath;

    let chunkInserts = 0;
    let killed: { pid: number; connectionLog: string } | undefined;
    proxy = await startEdgeProxy(
      () => socketPath,
      async (text, connectionLog) => {
        // The chunks go in through binary COPY (or, after a conflict, an insert).
        if (!text.includes("copy chunks (") && !text.includes("insert into chunks (")) return;
        chunkInserts++;
        // The second batch's chunk insert: its transaction is open, documents already upserted.
        if (chunkInserts !== 2 || killed || !database) return;
        const child = database.child;
        killed = { pid: child.pid ?? 0, connectionLog };
        child.kill("SIGKILL");
        await once(child, "exit");
      },
    );

    rt = await createTestRuntime({
      DATABASE_URL: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`,
      SYNC_BATCH_SIZE: "5",
    });
    const runtime = rt;
    const source = await addSource(runtime.db, { kind: "git", location: repo.dir, name: "outage" });

    const attempts: StepAttempt[] = [];
    let between:
      | { documents: string[]; pendingPaths: string[]; partialDocs: number; partialChunks: number }
      | undefined;
    const dedupeKey = "db-outage-1";
    const outcome = await runInline(
      syncSourceWorkflow,
      {
        id: dedupeKey,
        name: SYNC_REQUESTED,
        data: {
          sourceId: source.id,
          mode: "full",
          trigger: "cli",
          dedupeKey,
          correlationId: dedupeKey,
        },
      },
      {
        deps: async () => runtime.deps,
        log: runtime.log,
        workflows,
        onStep: (attempt) => attempts.push(attempt),
        // The step's backoff: the database comes back during it, and before the retry we
        // look at what the failed attempt left behind.
        sleep: async () => {
          if (!killed || between || !database) return;
          database = await startDatabaseProcess(pgliteDir);
          const documents = rowsOf<{ path: string }>(
            await runtime.db.execute(
              sql`select path from documents where source_id = ${source.id} order by path`,
            ),
          ).map((r) => r.path);
          const pendingPaths = rowsOf<{ path: string }>(
            await runtime.db.execute(
              sql`select path from sync_run_items where status = 'pending' and run_id = (select id from sync_runs where dedupe_key = ${dedupeKey}) order by path`,
            ),
          ).map((r) => r.path);
          const [partial] = rowsOf<{ docs: number; chunks: number }>(
            await runtime.db.execute(sql`
              select (select count(*) from documents where source_id = ${source.id} and path = any(${sql.param(pendingPaths)}::text[]))::int as docs,
                     (select count(*) from chunks where source_id = ${source.id} and path = any(${sql.param(pendingPaths)}::text[]))::int as chunks`),
          );
          between = {
            documents,
            pendingPaths,
            partialDocs: Number(partial?.docs ?? -1),
            partialChunks: Number(partial?.chunks ?? -1),
          };
        },
      },
    );
    expect(outcome.ok, String((outcome as { error?: unknown }).error)).toBe(true);

    // The kill landed inside the batch's transaction, after its documents were upserted.
    expect(killed).toBeDefined();
    const log = killed?.connectionLog ?? "";
    const begin = log.lastIndexOf("begin");
    expect(begin).toBeGreaterThanOrEqual(0);
    expect(log.indexOf("insert into documents", begin)).toBeGreaterThan(begin);

    // The batch step failed once, retryably, on the database, and its retry succeeded.
    const batchAttempts = attempts.filter(
      (a) => a.workflow === "process-batch" && a.step === "process-batch",
    );
    const failed = batchAttempts.filter((a) => a.error);
    expect(failed).toHaveLength(1);
    const classified = classifyError(failed[0]?.error);
    expect(classified).toMatchObject({ retryable: true, dependency: "database" });
    expect(["network", "unavailable"]).toContain(classified.errorClass);
    expect(batchAttempts.filter((a) => !a.error)).toHaveLength(3);
    const retry = batchAttempts[batchAttempts.indexOf(failed[0] as StepAttempt) + 1];
    expect(retry?.attempt).toBe(2);
    expect(retry?.error).toBeUndefined();

    // Back from the outage, before the retry: only the first batch's rows, none of the second's.
    expect(between).toBeDefined();
    expect(between?.documents).toHaveLength(5);
    expect(between?.pendingPaths).toHaveLength(10);
    expect(between?.partialDocs).toBe(0);
    expect(between?.partialChunks).toBe(0);

    const [run] = rowsOf<{ status: string }>(
      await runtime.db.execute(sql`select status from sync_runs where dedupe_key = ${dedupeKey}`),
    );
    expect(run?.status).toBe("succeeded");
    const after = await snapshotIndex(runtime.db, source.id);
    const clean = await freshFullSyncSnapshot(runtime, repo.dir);
    expect(after.documents).toHaveLength(15);
    expect(after).toEqual(clean);
    report(
      `db outage mid-batch: killed pid ${killed?.pid} at chunk insert #2; error ${classified.errorClass} (${String((failed[0]?.error as Error)?.message).slice(0, 80)}); ` +
        `after restart before retry: ${between?.documents.length} docs, ${between?.partialDocs} partial docs, ${between?.partialChunks} partial chunks; ` +
        `batch attempts ${batchAttempts.length} (1 failed); final ${after.documents.length} docs, ${after.chunks.length} chunks = clean sync`,
    );
  }, 180_000);
});
