import { type ChildProcess, spawn } from "node:child_process";
import { open, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import { buildIsStale, nextBin, projectRoot, runNext } from "../../scripts/next-app";

/**
 * The production server as an operator runs it, for the test files that need one (e2e,
 * security): one `next build` at a time whichever file asks first (a lock file serialises
 * them: two builds in one folder would collide), then `next start` per test file.
 */
const LOCK = path.join(projectRoot, ".next-build.lock");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Builds the app when stale; concurrent callers (other test files) wait for the one building. */
export async function ensureBuilt(): Promise<void> {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    try {
      handle = await open(LOCK, "wx");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    if (handle) {
      try {
        await handle.writeFile(String(process.pid));
        await handle.close();
        if (buildIsStale()) {
          const code = await runNext(["build"]);
          if (code !== 0) throw new Error(`next build exited with ${code}`);
        }
        return;
      } finally {
        await rm(LOCK, { force: true });
      }
    }
    const holder = Number(await readFile(LOCK, "utf8").catch(() => ""));
    if (Number.isInteger(holder) && holder > 0 && !alive(holder)) await rm(LOCK, { force: true });
    if (Date.now() > deadline) throw new Error("waited 10 minutes for another test's next build");
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

export function baseEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = ["PATH", "HOME", "TMPDIR", "LANG"].flatMap((k) => {
    const value = process.env[k];
    return value === undefined ? [] : [[k, value]];
  });
  return {
    ...Object.fromEntries(inherited),
    BALLAST_DATA_DIR: dataDir,
    BALLAST_ENV: "development",
    NEXT_TELEMETRY_DISABLED: "1",
    ...extra,
  };
}

export function cli(
  env: NodeJS.ProcessEnv,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--", path.join(projectRoot, "bin", "ballast.js"), ...args],
      { cwd: projectRoot, env },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

export interface AppServer {
  child: ChildProcess;
  url: string;
  output(): string;
  stop(): Promise<void>;
}

export function startServer(env: NodeJS.ProcessEnv, port: number): AppServer {
  const child = spawn(process.execPath, [nextBin, "start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: projectRoot,
    env,
  });
  let output = "";
  child.stdout?.on("data", (d) => {
    output += d;
  });
  child.stderr?.on("data", (d) => {
    output += d;
  });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

export async function waitForLive(url: string, child: ChildProcess): Promise<void> {
  // Generous: a build or a full suite on a loaded 2-core machine can slow start-up to a minute.
  for (let i = 0; i < 480; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/api/health?probe=live`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("server did not become live in 120 s");
}

/** Builds if needed, starts `next start` on a free port and waits until it answers. */
export async function startApp(env: NodeJS.ProcessEnv): Promise<AppServer> {
  await ensureBuilt();
  const server = startServer(env, await freePort());
  try {
    await waitForLive(server.url, server.child);
  } catch (error) {
    await server.stop();
    throw new Error(`${(error as Error).message}\n${server.output()}`);
  }
  return server;
}
