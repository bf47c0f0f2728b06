import { spawn } from "node:child_process";
import { UnavailableError } from "../errors";
import { createScrubber } from "../log/scrub";
import { gitSubcommand } from "../traces/external";
import { traceExternal } from "../traces/tracer";

/**
 * The git CLI, run without a shell (argument arrays only). Every command gets
 * `-c core.quotepath=off`; callers use `-z` outputs so no path is ever quoted or split.
 */

const scrub = createScrubber([]);

/** The git subcommand in an argument list, skipping global options and their values. */
function subcommandOf(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "-c" || arg === "-C" || arg === "--git-dir") i += 1;
    else if (!arg.startsWith("-")) return arg;
  }
  return "git";
}

/** A failed git command. Holds the subcommand and scrubbed stderr, never the full arguments. */
export class GitCommandError extends Error {
  readonly subcommand: string;
  readonly stderr: string;

  constructor(
    args: readonly string[],
    readonly exitCode: number | null,
    stderr: string,
    readonly signal: NodeJS.Signals | null,
  ) {
    const subcommand = subcommandOf(args);
    const detail = stderr.trim().split("\n").slice(-3).join(" / ");
    super(
      scrub(
        `git ${subcommand} failed (${signal ? `killed by ${signal}` : `exit ${exitCode}`})${detail ? `: ${detail}` : ""}`,
      ),
    );
    this.name = "GitCommandError";
    this.subcommand = subcommand;
    this.stderr = scrub(stderr);
  }
}

export interface RunGitOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Exit codes that are answers rather than failures (e.g. 1 for `rev-parse --verify -q`). */
  okExitCodes?: readonly number[];
}

export interface GitResult {
  stdout: Buffer;
  stderr: string;
  exitCode: number;
}

function gitNotInstalled(cause: unknown): UnavailableError {
  return new UnavailableError("the git executable was not found on PATH", "git_unavailable", {
    cause,
  });
}

export function runGit(args: readonly string[], options: RunGitOptions = {}): Promise<GitResult> {
  // A span of the step that runs it: the subcommand and exit code, never the arguments.
  return traceExternal(`git.${gitSubcommand(args)}`, () => spawnGit(args, options), {
    attributes: { args: args.length },
    output: (result) => ({ exitCode: result.exitCode, bytes: result.stdout.length }),
  });
}

function spawnGit(args: readonly string[], options: RunGitOptions): Promise<GitResult> {
  const fullArgs = ["-c", "core.quotepath=off", ...args];
  return new Promise((resolve, reject) => {
    const child = spawn("git", fullArgs, {
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      env: options.env,
      timeout: options.timeoutMs,
      windowsHide: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", (error: NodeJS.ErrnoException) => {
      reject(error.code === "ENOENT" ? gitNotInstalled(error) : error);
    });
    child.on("close", (code, signal) => {
      const stderr = Buffer.concat(err).toString("utf8");
      const exitCode = code ?? -1;
      if (code === 0 || (code !== null && options.okExitCodes?.includes(code))) {
        resolve({ stdout: Buffer.concat(out), stderr, exitCode });
      } else {
        reject(new GitCommandError(fullArgs, code, stderr, signal));
      }
    });
    if (options.input !== undefined && child.stdin) {
      child.stdin.on("error", () => {
        // git exited before reading all input; its exit status says why.
      });
      child.stdin.end(options.input);
    }
  });
}

/** Splits NUL-terminated output (`-z`) into UTF-8 strings, dropping the trailing empty field. */
export function splitNul(buffer: Buffer): string[] {
  const fields: string[] = [];
  let start = 0;
  for (;;) {
    const end = buffer.indexOf(0, start);
    if (end === -1) {
      if (start < buffer.length) fields.push(buffer.toString("utf8", start));
      return fields;
    }
    fields.push(buffer.toString("utf8", start, end));
    start = end + 1;
  }
}

/**
 * Reads many objects through ONE `git cat-file --batch --buffer` process, streaming:
 * requests are written as fast as git accepts them while the responses
 * (`<sha> <type> <size>\n<bytes>\n`, or `<sha> missing\n`) are parsed as they arrive.
 * Returns content by sha; null for a missing object or one that is not a blob.
 */
export function catFileBatch(
  gitDir: string,
  shas: readonly string[],
): Promise<Map<string, Buffer | null>> {
  if (shas.length === 0) return Promise.resolve(new Map());
  return traceExternal("git.cat-file", () => catFileBatchUntraced(gitDir, shas), {
    input: { objects: shas.length },
    output: (found) => ({ objects: found.size }),
  });
}

function catFileBatchUntraced(
  gitDir: string,
  shas: readonly string[],
): Promise<Map<string, Buffer | null>> {
  const result = new Map<string, Buffer | null>();
  if (shas.length === 0) return Promise.resolve(result);
  return new Promise((resolve, reject) => {
    const args = [
      "-c",
      "core.quotepath=off",
      "--git-dir",
      gitDir,
      "cat-file",
      "--batch",
      "--buffer",
    ];
    const child = spawn("git", args, { stdio: ["pipe", "pipe", "pipe"], windowsHide: true });
    const stderrChunks: Buffer[] = [];
    let failed = false;
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      child.kill();
      reject(error);
    };

    // Response parser state.
    let next = 0; // index into shas of the response being parsed
    let pending: Buffer | null = null; // unparsed bytes (a partial header)
    let body: Buffer | null = null; // the blob being filled
    let bodyFilled = 0;
    let bodyIsBlob = false;
    let skipNewline = false; // the "\n" after a body may arrive in the next chunk

    const finishBody = () => {
      const sha = shas[next] as string;
      result.set(sha, bodyIsBlob ? (body as Buffer) : null);
      body = null;
      bodyFilled = 0;
      skipNewline = true;
      next += 1;
    };

    const onData = (chunk: Buffer) => {
      const data = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = null;
      let pos = 0;
      while (pos < data.length) {
        if (skipNewline) {
          if (data[pos] !== 0x0a) return fail(new Error("git cat-file: malformed output"));
          skipNewline = false;
          pos += 1;
          continue;
        }
        if (body) {
          const take = Math.min(body.length - bodyFilled, data.length - pos);
          data.copy(body, bodyFilled, pos, pos + take);
          bodyFilled += take;
          pos += take;
          if (bodyFilled === body.length) finishBody();
          continue;
        }
        const eol = data.indexOf(0x0a, pos);
        if (eol === -1) {
          pending = data.subarray(pos);
          return;
        }
        const header = data.toString("utf8", pos, eol);
        pos = eol + 1;
        const expected = shas[next];
        if (expected === undefined)
          return fail(new Error("git cat-file: more responses than requests"));
        const parts = header.split(" ");
        if (parts[1] === "missing" || parts[1] === "ambiguous") {
          result.set(expected, null);
          next += 1;
          continue;
        }
        const size = Number(parts[2]);
        if (parts.length !== 3 || parts[0] !== expected || !Number.isSafeInteger(size)) {
          return fail(new Error(`git cat-file: unexpected header ${JSON.stringify(header)}`));
        }
        bodyIsBlob = parts[1] === "blob";
        body = Buffer.allocUnsafe(size);
        bodyFilled = 0;
        if (size === 0) finishBody();
      }
    };

    child.stdout.on("data", onData);
    child.stderr.on("data", (chunk: Buffer) => stderrChunks.push(chunk));
    child.on("error", (error: NodeJS.ErrnoException) =>
      fail(error.code === "ENOENT" ? gitNotInstalled(error) : error),
    );
    child.on("close", (code, signal) => {
      if (failed) return;
      if (code !== 0) {
        return fail(
          new GitCommandError(args, code, Buffer.concat(stderrChunks).toString("utf8"), signal),
        );
      }
      if (next !== shas.length || body || pending) {
        return fail(
          new Error(`git cat-file: output ended after ${next} of ${shas.length} objects`),
        );
      }
      resolve(result);
    });

    // Write requests with backpressure; git answers while we write, so no deadlock.
    child.stdin.on("error", () => {
      // EPIPE: git exited early; the close handler reports why.
    });
    const lines = shas.map((sha) => `${sha}\n`);
    let i = 0;
    const CHUNK = 2048;
    const writeMore = () => {
      while (i < lines.length) {
        const piece = lines.slice(i, i + CHUNK).join("");
        i += CHUNK;
        if (!child.stdin.write(piece)) {
          child.stdin.once("drain", writeMore);
          return;
        }
      }
      child.stdin.end();
    };
    writeMore();
  });
}
