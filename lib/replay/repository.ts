import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { isGitUrl } from "../sources/git";
import { runGit } from "../sources/git-cli";
import { OBJECT_ID } from "../sources/types";

/**
 * The repository state a replay needs: the commits its runs planned from and to, with every
 * object they reach, as a `git bundle` (refs `refs/replay/<commit>`). Made from the source's
 * own repository (a local path, or Ballast's mirror of a remote) without touching its refs:
 * the commits are fetched into a scratch repository first.
 */

const REPLAY_REF = "refs/replay/";

/** Where Ballast reads a git source from: the repository itself, or its mirror under workDir. */
export async function gitDirOf(location: string, workDir: string): Promise<string> {
  if (isGitUrl(location)) {
    const hash = createHash("sha256").update(location).digest("hex").slice(0, 32);
    return path.join(workDir, "git-mirrors", hash);
  }
  const { stdout } = await runGit(["-C", location, "rev-parse", "--absolute-git-dir"]);
  return stdout.toString("utf8").trim();
}

export interface RepositorySnapshot {
  /** Commits in the bundle. */
  commits: string[];
  /** Commits the repository no longer has (history rewritten and collected). */
  missing: string[];
  /** The git bundle, or null when no commit could be included. */
  bundle: Buffer | null;
}

export async function snapshotCommits(
  gitDir: string,
  commits: string[],
): Promise<RepositorySnapshot> {
  const wanted = [...new Set(commits.filter((c) => OBJECT_ID.test(c)))].sort();
  const scratch = await mkdtemp(path.join(tmpdir(), "ballast-replay-git-"));
  try {
    const repo = path.join(scratch, "repo.git");
    await runGit(["init", "-q", "--bare", repo]);
    const present: string[] = [];
    const missing: string[] = [];
    for (const commit of wanted) {
      try {
        await runGit(["--git-dir", gitDir, "cat-file", "-e", `${commit}^{commit}`]);
        present.push(commit);
      } catch {
        missing.push(commit);
      }
    }
    if (present.length === 0) return { commits: [], missing, bundle: null };
    await runGit([
      "--git-dir",
      repo,
      "fetch",
      "-q",
      "--no-tags",
      gitDir,
      ...present.map((c) => `${c}:${REPLAY_REF}${c}`),
    ]);
    const file = path.join(scratch, "state.bundle");
    await runGit(["--git-dir", repo, "bundle", "create", "-q", file, "--all"]);
    return { commits: present, missing, bundle: await readFile(file) };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Checks a bundle and lists its commits (each `refs/replay/<commit>` must name itself). */
export async function verifyBundle(bundle: Buffer): Promise<string[]> {
  const scratch = await mkdtemp(path.join(tmpdir(), "ballast-replay-verify-"));
  try {
    const file = path.join(scratch, "state.bundle");
    await writeFile(file, bundle);
    const { stdout } = await runGit(["bundle", "list-heads", file]);
    const commits: string[] = [];
    for (const line of stdout.toString("utf8").split("\n")) {
      if (!line.trim()) continue;
      const [id, ref] = line.trim().split(/\s+/);
      if (!id || !ref || ref !== `${REPLAY_REF}${id}` || !OBJECT_ID.test(id))
        throw new Error(`the repository bundle holds an unexpected ref ${ref ?? "(none)"}`);
      commits.push(id);
    }
    return commits;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** A bare repository holding the bundle's commits: the sandbox's copy of a source. */
export async function restoreBundle(bundle: Buffer, dir: string, branch: string): Promise<void> {
  const file = `${dir}.bundle`;
  await writeFile(file, bundle);
  try {
    await runGit(["init", "-q", "--bare", `--initial-branch=${branch}`, dir]);
    await runGit([
      "--git-dir",
      dir,
      "fetch",
      "-q",
      "--no-tags",
      file,
      `${REPLAY_REF}*:${REPLAY_REF}*`,
    ]);
  } finally {
    await rm(file, { force: true });
  }
}

/** Points the sandbox repository's branch at a commit (the head a recorded run saw). */
export async function setBranch(dir: string, branch: string, commit: string): Promise<void> {
  await runGit(["--git-dir", dir, "update-ref", `refs/heads/${branch}`, commit]);
  await runGit(["--git-dir", dir, "symbolic-ref", "HEAD", `refs/heads/${branch}`]);
}
