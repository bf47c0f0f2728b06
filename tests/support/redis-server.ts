/**
 * A real redis-server for integration tests: Debian's /usr/bin/redis-server (override with
 * REDIS_SERVER_BIN) on a free loopback port, no persistence, in a temporary directory.
 *
 * When the binary is missing: under CI=true that is a failure (the suite must not silently
 * skip there); elsewhere `redisServerBinary()` returns null and the suite skips with a message
 * saying how to install it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";

export const DEFAULT_REDIS_SERVER_BIN = "/usr/bin/redis-server";
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

export interface RedisServer {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  stop(): Promise<void>;
}

let warned = false;

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The redis-server binary, or null when missing (the caller skips). Under CI=true a missing
 * binary throws instead: CI must run these tests.
 */
export function redisServerBinary(): string | null {
  const bin = process.env.REDIS_SERVER_BIN || DEFAULT_REDIS_SERVER_BIN;
  if (executable(bin)) return bin;
  const message = `redis-server not found at ${bin}: install it with \`apt-get install -y redis-server\` (or set REDIS_SERVER_BIN)`;
  if (process.env.CI === "true")
    throw new Error(`${message}; CI=true, so this is a failure, not a skip`);
  if (!warned) console.warn(`skipping the real-Redis tests: ${message}`);
  warned = true;
  return null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

async function waitUntilAnswering(
  port: number,
  child: ChildProcess,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server exited before answering (code ${child.exitCode}): ${output()}`);
    }
    const client = new Redis({
      host: "127.0.0.1",
      port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
      connectTimeout: 1_000,
    });
    client.on("error", () => {});
    try {
      await client.connect();
      if ((await client.ping()) === "PONG") return;
    } catch {
      // not up yet
    } finally {
      client.disconnect();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not answer PING within ${START_TIMEOUT_MS} ms: ${output()}`);
}

async function startOnce(bin: string, fixedPort: number | undefined): Promise<RedisServer> {
  const port = fixedPort ?? (await freePort());
  const dir = mkdtempSync(path.join(tmpdir(), "ballast-redis-"));
  const child = spawn(
    bin,
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      "--daemonize",
      "no",
      "--logfile",
      "",
      "--loglevel",
      "warning",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  const collect = (chunk: Buffer) => {
    log = (log + chunk.toString("utf8")).slice(-4_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const spawnError = new Promise<never>((_, reject) => child.once("error", reject));
  spawnError.catch(() => {});

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited(child);
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await Promise.race([waitUntilAnswering(port, child, () => log.trim()), spawnError]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `redis://127.0.0.1:${port}`, port, stop };
}

export interface StartRedisServerOptions {
  /** Default: redisServerBinary(), else /usr/bin/redis-server. */
  bin?: string;
  /** A given loopback port (to restart a server where it was); default a free one. */
  port?: number;
}

/** Starts redis-server on a free loopback port (a few tries, in case the port gets taken). */
export async function startRedisServer(
  options: StartRedisServerOptions = {},
): Promise<RedisServer> {
  const bin = options.bin ?? process.env.REDIS_SERVER_BIN ?? DEFAULT_REDIS_SERVER_BIN;
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(bin, options.port);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}
