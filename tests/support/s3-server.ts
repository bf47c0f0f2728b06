/**
 * A real S3-protocol server (s3rver 3.7) on loopback for integration tests: port 0, its own
 * temp directory, one bucket, and a fresh random key pair. It runs in a child process started
 * with --openssl-legacy-provider (see s3-server-process.mjs).
 *
 * What s3rver does not do, so tests must not rely on it: it checks the access key id but not
 * SigV4 signatures (a wrong secret is accepted), writes are not atomic (concurrent puts of one
 * key can interleave), and listings follow its directory walk, which differs from S3's byte
 * order when a key and keys below it share a name ("a", "a-c", "a/b").
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export interface S3TestServer {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** s3rver's storage directory: objects live at <dir>/<bucket>/<key>._S3rver_object */
  dir: string;
  close(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL("./s3-server-process.mjs", import.meta.url));
const START_TIMEOUT_MS = 30_000;

export async function startS3Server(options: { bucket?: string } = {}): Promise<S3TestServer> {
  const bucket = options.bucket ?? "ballast-test";
  const accessKeyId = `AKIA${randomBytes(8).toString("hex").toUpperCase()}`;
  const secretAccessKey = randomBytes(24).toString("base64url");
  const dir = await mkdtemp(path.join(tmpdir(), "ballast-s3rver-"));

  const child = spawn(process.execPath, ["--openssl-legacy-provider", SCRIPT], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    stderr = (stderr + text).slice(-4000);
  });
  child.stdin?.write(`${JSON.stringify({ dir, bucket, accessKeyId, secretAccessKey })}\n`);

  let port: number;
  try {
    port = await readPort(child, () => stderr);
  } catch (error) {
    await stop(child);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    region: "us-east-1",
    accessKeyId,
    secretAccessKey,
    dir,
    async close() {
      await stop(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function readPort(child: ChildProcess, stderr: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const timer = setTimeout(
      () => fail(new Error("s3rver did not start in time")),
      START_TIMEOUT_MS,
    );
    const onExit = (code: number | null) => fail(new Error(`s3rver exited with code ${code}`));
    function fail(error: Error) {
      clearTimeout(timer);
      lines.close();
      child.off("exit", onExit);
      reject(new Error(`${error.message}\n${stderr()}`));
    }
    child.once("exit", onExit);
    lines.once("line", (line) => {
      clearTimeout(timer);
      child.off("exit", onExit);
      lines.close();
      try {
        const { port } = JSON.parse(line) as { port: number };
        resolve(port);
      } catch {
        fail(new Error(`unexpected output from s3rver: ${line}`));
      }
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.stdin?.end();
  child.kill("SIGTERM");
  await exited;
}
