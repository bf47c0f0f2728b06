import { spawn } from "node:child_process";
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
