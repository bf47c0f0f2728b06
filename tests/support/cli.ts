/**
 * Runs the real `ballast` CLI (`node bin/ballast.js …`) as a child process, with a controlled
 * environment: PATH and HOME from this process, a data directory, development mode, and
 * nothing else unless the test adds it (the vitest setup's BALLAST_ENV=test does not leak in).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = fileURLToPath(new URL("../../bin/ballast.js", import.meta.url));
/** A CLI process that runs longer than this is killed, and the result says so. */
const KILL_AFTER_MS = 150_000;

export interface CliResult {
  /** The exit code, or null when the process ended on a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The command line, for failure messages. */
  command: string;
}

export interface CliOptions {
  /** BALLAST_DATA_DIR; omitted from the environment when undefined. */
  dataDir?: string;
  /** Added to (or, with undefined, removed from) the base environment. */
  env?: Record<string, string | undefined>;
}

/** The environment a CLI process gets: PATH, HOME, the data dir, development mode. */
export function cliEnv(options: CliOptions = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    BALLAST_DATA_DIR: options.dataDir,
    BALLAST_ENV: "development",
    NEXT_TELEMETRY_DISABLED: "1",
    ...options.env,
  };
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/** A CLI process running in the background. */
export interface CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when stderr (so far or later) matches. Rejects if the process ends first. */
  waitForStderr(pattern: RegExp): Promise<string>;
  /** Resolves when the process has ended. */
  done: Promise<CliResult>;
}

export function startCli(args: string[], options: CliOptions = {}): CliProcess {
  // "--": Node 20 would otherwise read a script argument named --env-file as its own option.
  const child = spawn(process.execPath, ["--", BIN, ...args], {
    cwd: PROJECT_ROOT,
    // Next's types make NODE_ENV a required key of ProcessEnv; the CLI must not get one.
    env: cliEnv(options) as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const command = `ballast ${args.join(" ")}`;
  let stdout = "";
  let stderr = "";
  const watchers: { pattern: RegExp; resolve: (s: string) => void }[] = [];
  child.stdout?.setEncoding("utf8").on("data", (text: string) => {
    stdout += text;
  });
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
    for (const watcher of watchers.splice(0)) {
      if (watcher.pattern.test(stderr)) watcher.resolve(stderr);
      else watchers.push(watcher);
    }
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), KILL_AFTER_MS);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, command });
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  return {
    child,
    pid: child.pid,
    stdout: () => stdout,
    stderr: () => stderr,
    done,
    waitForStderr(pattern) {
      if (pattern.test(stderr)) return Promise.resolve(stderr);
      return new Promise((resolve, reject) => {
        watchers.push({ pattern, resolve });
        void done.then((result) =>
          reject(
            new Error(
              `${command} ended (code ${result.code}) before stderr matched ${pattern}:\n${result.stderr}\n${result.stdout}`,
            ),
          ),
        );
      });
    },
  };
}

/** Runs the CLI to the end. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** Everything the process printed, for "no secret anywhere" checks. */
export function allOutput(result: CliResult): string {
  return `${result.stdout}\n${result.stderr}`;
}

/** One-line description of a result, to make failed expectations readable. */
export function describeResult(result: CliResult): string {
  return `$ ${result.command}\nexit ${result.code}${result.signal ? ` (${result.signal})` : ""}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

const BOX_ROW = /^│(.*)│$/;

/** The rows of a cli-table3 table (box-drawing borders), each as its trimmed cells. */
export function tableRows(text: string): string[][] {
  return text
    .split("\n")
    .map((line) => BOX_ROW.exec(line.trim()))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => (match[1] ?? "").split("│").map((cell) => cell.trim()));
}

/** A two-column key/value table (the sync summary) as a map. */
export function keyValues(text: string): Map<string, string> {
  return new Map(
    tableRows(text)
      .filter((row) => row.length === 2)
      .map((row) => [row[0] ?? "", row[1] ?? ""]),
  );
}

/** A table with a header row, as objects keyed by the header cells. */
export function tableRecords(text: string): Record<string, string>[] {
  const [head, ...rows] = tableRows(text);
  if (!head) return [];
  return rows.map((row) => Object.fromEntries(head.map((name, i) => [name, row[i] ?? ""])));
}
