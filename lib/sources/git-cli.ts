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
  if (shas.length === 0) return Promise.resolve(new Map());
  let session = catFileSessions.get(gitDir);
  if (!session || session.closed) {
    session = new CatFileSession(gitDir);
    catFileSessions.set(gitDir, session);
  }
  return session.read(shas);
}

/** How long an idle `git cat-file --batch` process waits for the next batch before it ends. */
export const CAT_FILE_IDLE_MS = 3_000;

/** One live cat-file process per repository, while batches keep coming. */
const catFileSessions = new Map<string, CatFileSession>();

/** The pid of the live cat-file process of a repository, if one is running (health, tests). */
export function catFileProcessId(gitDir: string): number | undefined {
  const session = catFileSessions.get(gitDir);
  return session && !session.closed ? session.pid : undefined;
}

interface CatFileRequest {
  shas: readonly string[];
  result: Map<string, Buffer | null>;
  resolve(result: Map<string, Buffer | null>): void;
  reject(error: Error): void;
}

/**
 * A `git cat-file --batch` process kept for the batches of a sync: a batch's requests are
 * written (with backpressure) while the responses (`<sha> <type> <size>\n<bytes>\n`, or
 * `<sha> missing\n`) are parsed as they arrive. Reusing it spares each batch a spawn, a fork
 * of this whole process (the embedded database's memory included), which cost more than the
 * reading itself. Requests run one at a time; the process ends after CAT_FILE_IDLE_MS idle,
 * and never keeps this process alive. Any failure ends it: the next request starts another.
 */
class CatFileSession {
  closed = false;
  /** What ended the process, when a failure did. */
  private failure: Error | undefined;
  private readonly args: string[];
  private readonly child: ReturnType<typeof spawn>;
  private queue: Promise<unknown> = Promise.resolve();
  private current: CatFileRequest | undefined;
  private readonly stderr: Buffer[] = [];
  private idleTimer: NodeJS.Timeout | undefined;
  // Response parser state.
  private next = 0; // index into the current request's shas
  private pending: Buffer | null = null; // unparsed bytes (a partial header)
  private body: Buffer | null = null; // the blob being filled
  private bodyFilled = 0;
  private bodyIsBlob = false;
  private skipNewline = false; // the "\n" after a body may arrive in the next chunk

  constructor(readonly gitDir: string) {
    this.args = ["-c", "core.quotepath=off", "--git-dir", gitDir, "cat-file", "--batch"];
    this.child = spawn("git", this.args, { stdio: ["pipe", "pipe", "pipe"], windowsHide: true });
    this.child.stdout?.on("data", (chunk: Buffer) => this.onData(chunk));
    this.child.stderr?.on("data", (chunk: Buffer) => {
      if (this.stderr.length < 64) this.stderr.push(chunk);
    });
    this.child.stdin?.on("error", () => {
      // EPIPE: git exited; the close handler reports why.
    });
    this.child.on("error", (error: NodeJS.ErrnoException) =>
      this.end(error.code === "ENOENT" ? gitNotInstalled(error) : error),
    );
    this.child.on("close", (code, signal) =>
      this.end(
        code === 0 && !this.current
          ? undefined
          : code !== 0 && code !== null
            ? new GitCommandError(
                this.args,
                code,
                Buffer.concat(this.stderr).toString("utf8"),
                signal,
              )
            : new Error(
                `git cat-file: output ended after ${this.next} of ${this.current?.shas.length ?? 0} objects`,
              ),
      ),
    );
    this.setRef(false);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  read(shas: readonly string[]): Promise<Map<string, Buffer | null>> {
    const run = this.queue.then(() => this.run(shas));
    this.queue = run.catch(() => {});
    return run;
  }

  private run(shas: readonly string[]): Promise<Map<string, Buffer | null>> {
    if (this.failure) return Promise.reject(this.failure);
    // Ended while idle, just before this request: another process takes it.
    if (this.closed) return catFileBatchUntraced(this.gitDir, shas);
    clearTimeout(this.idleTimer);
    return new Promise((resolve, reject) => {
      this.current = { shas, result: new Map(), resolve, reject };
      this.next = 0;
      this.setRef(true);
      const stdin = this.child.stdin;
      if (!stdin) {
        this.end(new Error("git cat-file: no input pipe"));
        return;
      }
      const lines = shas.map((sha) => `${sha}\n`);
      let i = 0;
      const CHUNK = 2048;
      const writeMore = () => {
        while (i < lines.length && !this.closed) {
          const piece = lines.slice(i, i + CHUNK).join("");
          i += CHUNK;
          if (!stdin.write(piece)) {
            stdin.once("drain", writeMore);
            return;
          }
        }
      };
      writeMore();
    });
  }

  private onData(chunk: Buffer): void {
    const request = this.current;
    if (!request) {
      this.end(new Error("git cat-file: output without a request"));
      return;
    }
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let pos = 0;
    while (pos < data.length) {
      if (this.skipNewline) {
        if (data[pos] !== 0x0a) {
          this.end(new Error("git cat-file: malformed output"));
          return;
        }
        this.skipNewline = false;
        pos += 1;
        if (this.next === request.shas.length) break;
        continue;
      }
      if (this.body) {
        const take = Math.min(this.body.length - this.bodyFilled, data.length - pos);
        data.copy(this.body, this.bodyFilled, pos, pos + take);
        this.bodyFilled += take;
        pos += take;
        if (this.bodyFilled === this.body.length) this.finishBody(request);
        continue;
      }
      const eol = data.indexOf(0x0a, pos);
      if (eol === -1) {
        this.pending = data.subarray(pos);
        return;
      }
      const header = data.toString("utf8", pos, eol);
      pos = eol + 1;
      const expected = request.shas[this.next];
      if (expected === undefined) {
        this.end(new Error("git cat-file: more responses than requests"));
        return;
      }
      const parts = header.split(" ");
      if (parts[1] === "missing" || parts[1] === "ambiguous") {
        request.result.set(expected, null);
        this.next += 1;
        if (this.next === request.shas.length) break;
        continue;
      }
      const size = Number(parts[2]);
      if (parts.length !== 3 || parts[0] !== expected || !Number.isSafeInteger(size)) {
        this.end(new Error(`git cat-file: unexpected header ${JSON.stringify(header)}`));
        return;
      }
      this.bodyIsBlob = parts[1] === "blob";
      this.body = Buffer.allocUnsafe(size);
      this.bodyFilled = 0;
      if (size === 0) this.finishBody(request);
    }
    if (pos < data.length) {
      this.end(new Error("git cat-file: more output than requested"));
      return;
    }
    if (this.next === request.shas.length && !this.skipNewline && !this.body) {
      this.current = undefined;
      this.setRef(false);
      this.idleTimer = setTimeout(() => this.close(), CAT_FILE_IDLE_MS);
      this.idleTimer.unref();
      request.resolve(request.result);
    }
  }

  private finishBody(request: CatFileRequest): void {
    const sha = request.shas[this.next] as string;
    request.result.set(sha, this.bodyIsBlob ? (this.body as Buffer) : null);
    this.body = null;
    this.bodyFilled = 0;
    this.skipNewline = true;
    this.next += 1;
  }

  /** Holds this process open while a request is in flight; lets it exit when idle. */
  private setRef(ref: boolean): void {
    const handles = [this.child, this.child.stdin, this.child.stdout, this.child.stderr] as (
      | { ref?(): void; unref?(): void }
      | null
      | undefined
    )[];
    for (const handle of handles) (ref ? handle?.ref : handle?.unref)?.call(handle);
  }

  /** Ends the process (idle): its stdin closed, git exits. */
  close(): void {
    if (this.closed) return;
    this.end(undefined);
  }

  private end(error: Error | undefined): void {
    const request = this.current;
    this.current = undefined;
    if (!this.closed) {
      this.closed = true;
      this.failure = error;
      clearTimeout(this.idleTimer);
      if (catFileSessions.get(this.gitDir) === this) catFileSessions.delete(this.gitDir);
      this.child.stdin?.end();
      if (error) this.child.kill();
      this.setRef(false);
    }
    request?.reject(error ?? new Error("git cat-file: ended before its output was read"));
  }
}
