import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

/**
 * Real git repositories for tests, made in a temp dir: write/rename/delete files, commit,
 * rewrite history (reset --hard, then expire reflogs and gc so old commits really vanish),
 * and bare remotes to push to. Commits get a fixed identity and no signing, whatever the
 * machine's git config says.
 */

const run = promisify(execFile);
const IDENTITY = [
  "-c",
  "user.name=Ballast Test",
  "-c",
  "user.email=test@ballast.invalid",
  "-c",
  "commit.gpgsign=false",
  "-c",
  "core.autocrlf=false",
];

const created: string[] = [];

/** A fresh temp directory, removed by removeTempDirs(). */
export async function makeTempDir(prefix = "ballast-test-"): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Removes every temp dir made by this module (call in afterAll). */
export async function removeTempDirs(): Promise<void> {
  const dirs = created.splice(0);
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}

export async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run("git", [...IDENTITY, ...args], {
    cwd,
    maxBuffer: 256 * 1024 * 1024,
    encoding: "utf8",
  });
  return stdout;
}

export class TestRepo {
  constructor(
    /** The working tree. */
    readonly dir: string,
    readonly branch: string,
  ) {}

  git(...args: string[]): Promise<string> {
    return git(this.dir, args);
  }

  async write(file: string, content: string | Buffer): Promise<void> {
    const full = path.join(this.dir, file);
    await mkdir(path.dirname(full), { recursive: true });
    await writeFile(full, content);
  }

  /** Writes many files at once: { "a/b.txt": "text", ... }. */
  async writeMany(files: Record<string, string | Buffer>): Promise<void> {
    const dirs = new Set(Object.keys(files).map((f) => path.dirname(path.join(this.dir, f))));
    await Promise.all([...dirs].map((d) => mkdir(d, { recursive: true })));
    const entries = Object.entries(files);
    for (let i = 0; i < entries.length; i += 256) {
      await Promise.all(
        entries.slice(i, i + 256).map(([f, c]) => writeFile(path.join(this.dir, f), c)),
      );
    }
  }

  async remove(file: string): Promise<void> {
    await rm(path.join(this.dir, file), { force: true, recursive: true });
  }

  async rename(from: string, to: string): Promise<void> {
    const target = path.join(this.dir, to);
    await mkdir(path.dirname(target), { recursive: true });
    await rename(path.join(this.dir, from), target);
  }

  /** Stages everything (adds, edits, deletions) and commits; returns the new commit id. */
  async commit(message = "change"): Promise<string> {
    await this.git("add", "-A");
    await this.git("commit", "-q", "--allow-empty", "-m", message);
    return this.head();
  }

  async head(ref = "HEAD"): Promise<string> {
    return (await this.git("rev-parse", `${ref}^{commit}`)).trim();
  }

  /** Moves the current branch to `ref` and the working tree with it (a history rewrite). */
  async resetHard(ref: string): Promise<void> {
    await this.git("reset", "-q", "--hard", ref);
  }

  /** Makes unreachable objects really disappear: expire every reflog, then gc --prune=now. */
  async expireAndGc(): Promise<void> {
    await this.git("reflog", "expire", "--expire=now", "--all");
    await this.git("gc", "-q", "--prune=now");
  }

  async checkoutNew(branch: string): Promise<void> {
    await this.git("checkout", "-q", "-b", branch);
  }

  async checkout(branch: string): Promise<void> {
    await this.git("checkout", "-q", branch);
  }

  async deleteBranch(branch: string): Promise<void> {
    await this.git("branch", "-q", "-D", branch);
  }

  /** Creates a bare repository and adds it as `name`; returns its path and file:// URL. */
  async createBareRemote(name = "origin"): Promise<BareRemote> {
    const remote = await createBareRepo(this.branch);
    await this.git("remote", "add", name, remote.path);
    return remote;
  }

  async push(
    remote = "origin",
    refspec = this.branch,
    options: { force?: boolean } = {},
  ): Promise<void> {
    await this.git("push", "-q", ...(options.force ? ["--force"] : []), remote, refspec);
  }
}

export interface BareRemote {
  path: string;
  url: string;
  /** Runs git inside the bare repository. */
  git(...args: string[]): Promise<string>;
}

export async function createBareRepo(branch = "main"): Promise<BareRemote> {
  const dir = path.join(await makeTempDir("ballast-remote-"), "remote.git");
  await git(tmpdir(), ["init", "-q", "--bare", `--initial-branch=${branch}`, dir]);
  return { path: dir, url: pathToFileURL(dir).href, git: (...args) => git(dir, args) };
}

/** A new repository with `branch` checked out (nothing committed yet). */
export async function createTestRepo(options: { branch?: string } = {}): Promise<TestRepo> {
  const branch = options.branch ?? "main";
  const dir = await makeTempDir("ballast-repo-");
  await git(dir, ["init", "-q", `--initial-branch=${branch}`]);
  return new TestRepo(dir, branch);
}
