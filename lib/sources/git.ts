import { createHash, randomBytes } from "node:crypto";
import { mkdir, realpath, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { processEnv } from "../config/env";
import { BallastError, NotFoundError, UnavailableError, ValidationError } from "../errors";
import { createScrubber } from "../log/scrub";
import {
  type CheckedUrl,
  checkOutboundUrl,
  DEFAULT_URL_POLICY,
  type Resolver,
  type UrlPolicy,
} from "../security/url-policy";
import { catFileBatch, GitCommandError, runGit, splitNul } from "./git-cli";
import {
  type Change,
  CursorMissingError,
  type FileEntry,
  type Head,
  OBJECT_ID,
  type SourceLocation,
  type SourceLogger,
  type SourceReader,
} from "./types";

/**
 * Git sources read with the git CLI.
 *
 * - A local path is read in place (`--git-dir` of that repository): branches as committed,
 *   never the working tree or the index, so uncommitted edits are not indexed.
 * - A git URL is kept as a bare mirror under `<workDir>/git-mirrors/<sha256(url)>`, holding
 *   the remote's branches as `refs/heads/*` (no tags), updated with
 *   `git fetch --prune --force` on every resolveHead. Objects of rewritten history stay in
 *   the mirror until git's own gc expires them, so diffs across a force-push keep working.
 */

const scrub = createScrubber([]);
const DEFAULT_NETWORK_TIMEOUT_MS = 10 * 60_000;
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;
const SCP_LIKE = /^[^/@:\s]+@[^/:\s]+:/;
const NULL_SHA = /^0+$/;

export function isGitUrl(location: string): boolean {
  return URL_LIKE.test(location) || SCP_LIKE.test(location);
}

export interface GitReaderOptions {
  workDir: string;
  log?: SourceLogger;
  networkTimeoutMs?: number;
  /**
   * Where a remote may be fetched from, checked before every network operation (DNS can
   * change between checks). Default: DEFAULT_URL_POLICY (https to public addresses only).
   */
  urlPolicy?: UrlPolicy;
  /** Host name resolution for the policy check (tests). */
  resolve?: Resolver;
}

/** Serialises mirror updates within this process (git's ref locks guard across processes). */
const mirrorLocks = new Map<string, Promise<unknown>>();

function withMirrorLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const previous = mirrorLocks.get(dir) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const tail = run.catch(() => undefined);
  mirrorLocks.set(dir, tail);
  void tail.then(() => {
    if (mirrorLocks.get(dir) === tail) mirrorLocks.delete(dir);
  });
  return run;
}

export function normalizeObjectId(value: string, what: string): string {
  const id = typeof value === "string" ? value.trim().toLowerCase() : "";
  if (!OBJECT_ID.test(id) || NULL_SHA.test(id)) {
    throw new ValidationError(`${what} must be a full object id (40 or 64 hex digits)`, [
      { path: what, message: `not an object id: ${JSON.stringify(String(value).slice(0, 80))}` },
    ]);
  }
  return id;
}

function isRegularFile(mode: string): boolean {
  return mode.startsWith("100");
}

export class GitSourceReader implements SourceReader {
  readonly kind = "git" as const;
  private readonly remote: boolean;
  private readonly displayLocation: string;
  private gitDirPromise: Promise<string> | undefined;
  /** True when this instance created the mirror (so the first resolveHead need not fetch again). */
  private freshMirror = false;

  constructor(
    private readonly source: SourceLocation,
    private readonly options: GitReaderOptions,
  ) {
    if (source.kind !== "git") throw new ValidationError(`not a git source: ${source.kind}`);
    const location = source.location;
    if (typeof location !== "string" || location.trim() === "" || location.startsWith("-")) {
      throw new ValidationError("git source location must be an absolute path or a git URL");
    }
    this.remote = isGitUrl(location);
    if (!this.remote && !path.isAbsolute(location)) {
      throw new ValidationError(
        `git source location must be an absolute path or a git URL, got ${JSON.stringify(location)}`,
      );
    }
    this.displayLocation = scrub(location);
  }

  // ---------------------------------------------------------------- repository access

  private gitDir(): Promise<string> {
    if (!this.gitDirPromise) {
      const promise = this.remote ? this.ensureMirror() : this.openLocal();
      this.gitDirPromise = promise;
      promise.catch(() => {
        if (this.gitDirPromise === promise) this.gitDirPromise = undefined;
      });
    }
    return this.gitDirPromise;
  }

  private async openLocal(): Promise<string> {
    const dir = this.source.location;
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        throw new NotFoundError(`git source path ${dir} does not exist`);
      }
      throw error;
    }
    if (!info.isDirectory()) throw new ValidationError(`git source path ${dir} is not a directory`);
    let out: string;
    try {
      out = (
        await runGit(["-C", dir, "rev-parse", "--is-bare-repository", "--absolute-git-dir"])
      ).stdout.toString("utf8");
    } catch (error) {
      if (error instanceof GitCommandError) {
        if (/not a git repository/i.test(error.stderr)) {
          throw new ValidationError(`${dir} is not a git repository`);
        }
        if (/dubious ownership/i.test(error.stderr)) {
          throw new ValidationError(
            `${dir} is owned by another user and git refuses to read it (add it to git's safe.directory)`,
          );
        }
      }
      throw error;
    }
    const [bare, gitDir] = out.trim().split("\n");
    if (!gitDir) throw new ValidationError(`${dir} is not a git repository`);
    const top =
      bare === "true"
        ? gitDir
        : (await runGit(["-C", dir, "rev-parse", "--show-toplevel"])).stdout
            .toString("utf8")
            .trim();
    const [wanted, actual] = await Promise.all([realpath(dir), realpath(top)]);
    if (wanted !== actual) {
      throw new ValidationError(
        `${dir} is inside the git repository at ${actual} but is not its top level; use ${actual}`,
      );
    }
    return gitDir;
  }

  private mirrorPath(): string {
    const hash = createHash("sha256").update(this.source.location).digest("hex").slice(0, 32);
    return path.join(this.options.workDir, "git-mirrors", hash);
  }

  private networkEnv(): NodeJS.ProcessEnv {
    // Inherit the environment (PATH, HOME, ssh agent) but never wait on a credential prompt.
    return { ...processEnv(), GIT_TERMINAL_PROMPT: "0" };
  }

  /**
   * `git -c` options for one network operation on this remote, after checking it against the
   * URL policy: only the remote's own protocol, no redirects (a public URL must not bounce to
   * 169.254.169.254), and for http(s) the connection pinned to the addresses just checked, so
   * a DNS answer that changes between the check and git's own lookup is not used.
   */
  private async networkOptions(): Promise<string[]> {
    const location = this.source.location;
    const options = ["-c", "protocol.allow=never", "-c", "protocol.ext.allow=never"];
    if (/^file:/i.test(location)) return [...options, "-c", "protocol.file.allow=always"];
    const checked = await checkOutboundUrl(
      location,
      this.options.urlPolicy ?? DEFAULT_URL_POLICY,
      this.options.resolve,
    );
    options.push("-c", `protocol.${checked.scheme}.allow=always`);
    if (checked.scheme === "http" || checked.scheme === "https") {
      options.push("-c", "http.followRedirects=false");
      options.push("-c", `http.curloptResolve=${curlResolveEntry(checked)}`);
    }
    return options;
  }

  private async ensureMirror(): Promise<string> {
    const dir = this.mirrorPath();
    return withMirrorLock(dir, async () => {
      if (await isBareRepo(dir)) return dir;
      await mkdir(path.dirname(dir), { recursive: true });
      const tmp = `${dir}.tmp-${randomBytes(6).toString("hex")}`;
      try {
        await runGit(["init", "--bare", "--quiet", tmp]);
        const config = async (key: string, value: string) =>
          runGit(["--git-dir", tmp, "config", key, value]);
        await config("remote.origin.url", this.source.location);
        await config("remote.origin.fetch", "+refs/heads/*:refs/heads/*");
        await config("remote.origin.tagOpt", "--no-tags");
        await config("gc.auto", "0");
        await this.fetch(tmp);
        try {
          await rename(tmp, dir);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code !== "EEXIST" && code !== "ENOTEMPTY") throw error;
          // Another process created it first: use theirs.
        }
        this.freshMirror = true;
        return dir;
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    });
  }

  private async fetch(gitDir: string): Promise<void> {
    const network = await this.networkOptions();
    try {
      await runGit(
        [
          ...network,
          "--git-dir",
          gitDir,
          "fetch",
          "--prune",
          "--force",
          "--no-tags",
          "--quiet",
          "origin",
        ],
        {
          env: this.networkEnv(),
          timeoutMs: this.options.networkTimeoutMs ?? DEFAULT_NETWORK_TIMEOUT_MS,
        },
      );
    } catch (error) {
      throw this.remoteError("fetch", error);
    }
  }

  private remoteError(operation: string, error: unknown): Error {
    if (!(error instanceof GitCommandError)) return error as Error;
    const detail = error.stderr.trim().split("\n").slice(-2).join(" / ");
    const what = `git ${operation} from ${this.displayLocation} failed`;
    if (
      /does not appear to be a git repository|repository .* not found|Repository not found|does not exist/i.test(
        error.stderr,
      )
    ) {
      return new NotFoundError(`${what}: the repository was not found (${detail})`);
    }
    if (
      /Authentication failed|could not read Username|Permission denied|terminal prompts disabled/i.test(
        error.stderr,
      )
    ) {
      return new BallastError("git_auth_failed", `${what}: access denied (${detail})`, 502, false);
    }
    return new UnavailableError(`${what}: ${detail || error.message}`, "git_fetch_failed", {
      cause: error,
    });
  }

  private async remoteDefaultBranch(gitDir: string): Promise<string | undefined> {
    const network = await this.networkOptions();
    let out: string;
    try {
      out = (
        await runGit([...network, "--git-dir", gitDir, "ls-remote", "--symref", "origin", "HEAD"], {
          env: this.networkEnv(),
          timeoutMs: this.options.networkTimeoutMs ?? DEFAULT_NETWORK_TIMEOUT_MS,
        })
      ).stdout.toString("utf8");
    } catch (error) {
      throw this.remoteError("ls-remote", error);
    }
    const match = /^ref: refs\/heads\/(\S.*)\tHEAD$/m.exec(out);
    return match?.[1];
  }

  private async commitExists(gitDir: string, commit: string): Promise<boolean> {
    const result = await runGit(["--git-dir", gitDir, "cat-file", "-e", `${commit}^{commit}`], {
      okExitCodes: [1, 128],
    });
    return result.exitCode === 0;
  }

  /** For a mirror, a commit we have not seen may be newer than our last fetch: fetch once. */
  private async hasCommit(gitDir: string, commit: string): Promise<boolean> {
    if (await this.commitExists(gitDir, commit)) return true;
    if (!this.remote) return false;
    await withMirrorLock(gitDir, () => this.fetch(gitDir));
    return this.commitExists(gitDir, commit);
  }

  // ---------------------------------------------------------------- SourceReader

  async resolveHead(): Promise<Head> {
    const gitDir = await this.gitDir();
    let branch = this.source.branch;
    if (this.remote) {
      if (this.freshMirror) this.freshMirror = false;
      else await withMirrorLock(gitDir, () => this.fetch(gitDir));
      if (!branch) {
        const remoteHead = await this.remoteDefaultBranch(gitDir);
        if (remoteHead) {
          await withMirrorLock(gitDir, () =>
            runGit(["--git-dir", gitDir, "symbolic-ref", "HEAD", `refs/heads/${remoteHead}`]),
          );
          branch = remoteHead;
        }
      }
    }
    if (!branch) {
      const head = await runGit(["--git-dir", gitDir, "symbolic-ref", "-q", "HEAD"], {
        okExitCodes: [1],
      });
      const ref = head.stdout.toString("utf8").trim();
      if (head.exitCode !== 0 || !ref.startsWith("refs/heads/")) {
        throw new ValidationError(
          `${this.displayLocation} has a detached HEAD and no branch was configured; set the source's branch`,
        );
      }
      branch = ref.slice("refs/heads/".length);
    }
    const valid = await runGit(["check-ref-format", `refs/heads/${branch}`], { okExitCodes: [1] });
    if (valid.exitCode !== 0 || branch.startsWith("-")) {
      throw new ValidationError(`${JSON.stringify(branch)} is not a valid branch name`);
    }
    const tip = await runGit(
      ["--git-dir", gitDir, "rev-parse", "-q", "--verify", `refs/heads/${branch}^{commit}`],
      { okExitCodes: [1] },
    );
    const commit = tip.stdout.toString("utf8").trim();
    if (tip.exitCode === 0 && commit) return { state: "ok", commit, branch };
    const any = await runGit([
      "--git-dir",
      gitDir,
      "for-each-ref",
      "--count=1",
      "--format=%(refname)",
      "refs/heads/",
    ]);
    if (any.stdout.toString("utf8").trim() === "") return { state: "empty" };
    return { state: "branch-missing", branch };
  }

  async listFiles(commit: string): Promise<FileEntry[]> {
    const id = normalizeObjectId(commit, "commit");
    const gitDir = await this.gitDir();
    if (!(await this.hasCommit(gitDir, id))) {
      throw new NotFoundError(`commit ${id} not found in ${this.displayLocation}`);
    }
    const out = await runGit(["--git-dir", gitDir, "ls-tree", "-r", "-l", "-z", "--full-tree", id]);
    const files: FileEntry[] = [];
    for (const record of splitNul(out.stdout)) {
      // "<mode> SP <type> SP <object> SP+ <size> TAB <path>"
      const tab = record.indexOf("\t");
      if (tab === -1) continue;
      const [mode, type, sha, size] = record.slice(0, tab).split(" ").filter(Boolean);
      if (type !== "blob" || !mode || !sha || !isRegularFile(mode)) continue;
      files.push({ path: record.slice(tab + 1), blobSha: sha, size: Number(size) });
    }
    return files;
  }

  async diff(fromCommit: string, toCommit: string): Promise<Change[]> {
    const from = normalizeObjectId(fromCommit, "fromCommit");
    const to = normalizeObjectId(toCommit, "toCommit");
    const gitDir = await this.gitDir();
    if (!(await this.hasCommit(gitDir, to))) {
      throw new NotFoundError(`commit ${to} not found in ${this.displayLocation}`);
    }
    if (!(await this.hasCommit(gitDir, from))) throw new CursorMissingError(from);
    if (from === to) return [];
    const out = await runGit([
      "--git-dir",
      gitDir,
      "diff-tree",
      "-r",
      "-z",
      "-M",
      "--raw",
      "--no-abbrev",
      from,
      to,
    ]);
    const fields = splitNul(out.stdout);
    type Raw = {
      status: string;
      srcMode: string;
      dstMode: string;
      dstSha: string;
      src: string;
      dst: string;
    };
    const raws: Raw[] = [];
    for (let i = 0; i < fields.length; ) {
      const meta = fields[i] as string;
      if (!meta.startsWith(":"))
        throw new Error(`git diff-tree: unexpected output ${JSON.stringify(meta)}`);
      const [srcMode = "", dstMode = "", , dstSha = "", status = ""] = meta.slice(1).split(" ");
      const letter = status.charAt(0);
      if (letter === "R" || letter === "C") {
        raws.push({
          status: letter,
          srcMode,
          dstMode,
          dstSha,
          src: fields[i + 1] ?? "",
          dst: fields[i + 2] ?? "",
        });
        i += 3;
      } else {
        const p = fields[i + 1] ?? "";
        raws.push({ status: letter, srcMode, dstMode, dstSha, src: p, dst: p });
        i += 2;
      }
    }

    const sizes = await this.blobSizes(
      gitDir,
      raws.filter((r) => isRegularFile(r.dstMode)).map((r) => r.dstSha),
    );
    const sized = (r: Raw) => ({ path: r.dst, blobSha: r.dstSha, size: sizes.get(r.dstSha) ?? 0 });
    const changes: Change[] = [];
    for (const r of raws) {
      const srcReg = isRegularFile(r.srcMode);
      const dstReg = isRegularFile(r.dstMode);
      switch (r.status) {
        case "A":
        case "C":
          if (dstReg) changes.push({ type: "added", ...sized(r) });
          break;
        case "D":
          if (srcReg) changes.push({ type: "removed", path: r.src });
          break;
        case "M":
        case "T":
          if (srcReg && dstReg) changes.push({ type: "modified", ...sized(r) });
          else if (srcReg) changes.push({ type: "removed", path: r.src });
          else if (dstReg) changes.push({ type: "added", ...sized(r) });
          break;
        case "R":
          if (srcReg && dstReg) changes.push({ type: "renamed", oldPath: r.src, ...sized(r) });
          else if (srcReg) changes.push({ type: "removed", path: r.src });
          else if (dstReg) changes.push({ type: "added", ...sized(r) });
          break;
        default:
          throw new Error(
            `git diff-tree: unexpected status ${JSON.stringify(r.status)} for ${r.dst}`,
          );
      }
    }
    return changes;
  }

  private async blobSizes(gitDir: string, shas: string[]): Promise<Map<string, number>> {
    const unique = [...new Set(shas)];
    const sizes = new Map<string, number>();
    if (unique.length === 0) return sizes;
    const out = await runGit(["--git-dir", gitDir, "cat-file", "--batch-check", "--buffer"], {
      input: `${unique.join("\n")}\n`,
    });
    for (const line of out.stdout.toString("utf8").split("\n")) {
      const [sha, type, size] = line.split(" ");
      if (sha && type === "blob" && size) sizes.set(sha, Number(size));
    }
    return sizes;
  }

  async readBlobs(
    entries: { path: string; blobSha: string }[],
  ): Promise<Map<string, Buffer | null>> {
    const shas = entries.map((e) => normalizeObjectId(e.blobSha, `blobSha of ${e.path}`));
    const result = new Map<string, Buffer | null>();
    if (entries.length === 0) return result;
    const gitDir = await this.gitDir();
    const contents = await catFileBatch(gitDir, [...new Set(shas)]);
    entries.forEach((entry, i) => {
      result.set(entry.path, contents.get(shas[i] as string) ?? null);
    });
    return result;
  }
}

/** `host:port:address[,address]` for git's http.curloptResolve (curl's CURLOPT_RESOLVE). */
function curlResolveEntry(checked: CheckedUrl): string {
  const bracket = (a: string) => (a.includes(":") ? `[${a}]` : a);
  const host = checked.host.includes(":") ? `[${checked.host}]` : checked.host;
  return `${host}:${checked.port}:${checked.addresses.map(bracket).join(",")}`;
}

async function isBareRepo(dir: string): Promise<boolean> {
  try {
    await stat(path.join(dir, "HEAD"));
  } catch {
    return false;
  }
  const out = await runGit(["--git-dir", dir, "rev-parse", "--is-bare-repository"], {
    okExitCodes: [128],
  });
  return out.exitCode === 0 && out.stdout.toString("utf8").trim() === "true";
}
