import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { buildIsStale, nextBin, projectRoot, runNext } from "../../scripts/next-app";

/**
 * The production server as an operator runs it, for end-to-end tests: one `next build` shared
 * by every test file (serialised with a lock directory, since vitest runs files in parallel),
 * then `next start` on a free loopback port with a clean environment.
 */
const LOCK = path.join(projectRoot, ".next-build.lock");

export async function ensureBuilt(): Promise<void> {
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Another file is building; a lock older than 10 minutes is from a crashed run.
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > 10 * 60_000) rmSync(LOCK, { recursive: true });
      } catch {
        // gone meanwhile
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    if (buildIsStale()) {
      const code = await runNext(["build"]);
      if (code !== 0) throw new Error(`next build failed (${code})`);
    }
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
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

/** Only what a server needs from this environment, plus the embedded defaults in `dataDir`. */
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

export interface AppServer {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export function spawnServer(env: NodeJS.ProcessEnv, port: number): AppServer {
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
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

export async function waitForLive(server: AppServer, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null)
      throw new Error(`server exited with ${server.child.exitCode}:\n${server.output()}`);
    try {
      const response = await fetch(`${server.url}/api/health?probe=live`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`server did not become live in ${timeoutMs / 1000} s:\n${server.output()}`);
}

/** Builds if needed, starts `next start` and waits until it answers. */
export async function startApp(env: NodeJS.ProcessEnv): Promise<AppServer> {
  await ensureBuilt();
  const server = spawnServer(env, await freePort());
  await waitForLive(server);
  return server;
}

/** The `ballast` CLI as a child process, in the project root. */
export function cli(
  env: NodeJS.ProcessEnv,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--", path.join(projectRoot, "bin", "ballast.js"), ...args],
      {
        cwd: projectRoot,
        env,
      },
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
