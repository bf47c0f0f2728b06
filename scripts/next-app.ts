import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";

/** Helpers to build and run the Next.js app from scripts and end-to-end tests. */
export const projectRoot = path.resolve(import.meta.dirname, "..");
export const nextBin = path.join(projectRoot, "node_modules", "next", "dist", "bin", "next");

function newestMtime(entry: string): number {
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(entry).reduce(
    (newest, name) => Math.max(newest, newestMtime(path.join(entry, name))),
    stat.mtimeMs,
  );
}

/** True when there is no production build or a source file is newer than it. */
export function buildIsStale(): boolean {
  const buildId = path.join(projectRoot, ".next", "BUILD_ID");
  if (!existsSync(buildId)) return true;
  const built = statSync(buildId).mtimeMs;
  return [
    "app",
    "lib",
    "inngest",
    "db",
    "next.config.js",
    "package-lock.json",
    "instrumentation.ts",
    "proxy.ts",
    "postcss.config.mjs",
  ]
    .map((p) => path.join(projectRoot, p))
    .some((p) => existsSync(p) && newestMtime(p) > built);
}

/** Runs `next <args>` with inherited output; resolves with the exit code. Forwards Ctrl-C. */
export function runNext(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [nextBin, ...args], {
      cwd: projectRoot,
      stdio: "inherit",
    });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      process.off("SIGINT", forward);
      process.off("SIGTERM", forward);
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

export interface HealthGate {
  ok: boolean;
  /** HTTP status of the last answer (0: none). */
  status: number;
  /** Parts that are down or degraded, with their detail. */
  problems: string[];
  body?: {
    status?: string;
    parts?: Record<string, { status: string; detail?: string; backend?: string }>;
  };
}

/**
 * Waits until `/api/health` answers 200 (ready) — or 503, or the server exits, or the time is
 * up — and says which part failed. What `npm run up` waits for before it says "ready".
 */
export async function waitForHealth(
  baseUrl: string,
  child: ChildProcess,
  timeoutMs = 180_000,
): Promise<HealthGate> {
  const deadline = Date.now() + timeoutMs;
  let last: HealthGate = { ok: false, status: 0, problems: ["the server did not answer"] };
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      return {
        ok: false,
        status: 0,
        problems: [`the server exited (${child.exitCode ?? child.signalCode})`],
      };
    try {
      const response = await fetch(`${baseUrl}/api/health`, {
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await response.json()) as HealthGate["body"];
      const problems = Object.entries(body?.parts ?? {})
        .filter(([, part]) => part.status !== "ok")
        .map(([name, part]) => `${name}: ${part.status}${part.detail ? ` (${part.detail})` : ""}`);
      last = { ok: response.status === 200, status: response.status, problems, body };
      if (response.status === 200 || response.status === 503) return last;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return last;
}

/** Starts `next <args>` with inherited output; Ctrl-C and SIGTERM are forwarded. */
export function startNext(args: string[]): ChildProcess {
  const child = spawn(process.execPath, [nextBin, ...args], { cwd: projectRoot, stdio: "inherit" });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  child.on("exit", () => {
    process.off("SIGINT", forward);
    process.off("SIGTERM", forward);
  });
  return child;
}
