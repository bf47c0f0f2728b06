import { randomBytes } from "node:crypto";
import { readdir, symlink } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BallastError, NotFoundError, ValidationError } from "../../lib/errors";
import {
  type Change,
  CursorMissingError,
  createSourceReader,
  type FileEntry,
  type SourceReader,
} from "../../lib/sources";
import {
  createBareRepo,
  createTestRepo,
  makeTempDir,
  removeTempDirs,
  type TestRepo,
} from "../support/git-repo";

afterAll(removeTempDirs);

async function localReader(repo: TestRepo, branch?: string): Promise<SourceReader> {
  return createSourceReader(
    { kind: "git", location: repo.dir, branch },
    { workDir: await makeTempDir("ballast-work-") },
  );
}

function byPath<T extends { path: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

const LABEL = { added: "A", modified: "M", removed: "D", renamed: "R" } as const;

function summarize(changes: Change[]): string[] {
  return changes
    .map((c) =>
      c.type === "renamed" ? `R ${c.oldPath} -> ${c.path}` : `${LABEL[c.type]} ${c.path}`,
    )
    .sort();
}

/** Applies changes to a listing: the result must equal the listing at the newer commit. */
function apply(listing: FileEntry[], changes: Change[]): FileEntry[] {
  const files = new Map(listing.map((f) => [f.path, f]));
  for (const change of changes) {
    if (change.type === "removed") {
      expect(files.has(change.path), `removed ${change.path} existed`).toBe(true);
      files.delete(change.path);
      continue;
    }
    if (change.type === "renamed") {
      expect(files.has(change.oldPath), `renamed-from ${change.oldPath} existed`).toBe(true);
      files.delete(change.oldPath);
    }
    if (change.type === "added")
      expect(files.has(change.path), `added ${change.path} was new`).toBe(false);
    const { path: p, blobSha, size } = change;
    files.set(p, { path: p, blobSha, size });
  }
  return byPath([...files.values()]);
}

async function headCommit(reader: SourceReader): Promise<string> {
  const head = await reader.resolveHead();
  if (head.state !== "ok") throw new Error(`expected a head, got ${JSON.stringify(head)}`);
  return head.commit;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("git source: local repository", () => {
  it("lists regular files with blob ids and sizes, skipping symlinks and submodules", async () => {
    const repo = await createTestRepo();
    const binary = randomBytes(4096);
    const large = Buffer.alloc(3 * 1024 * 1024, "x");
    await repo.writeMany({
      "README.md": "# hello\n",
      "src/index.ts": "export const x = 1;\n",
      "src/deep/nested/file.txt": "deep\n",
      "docs/with space and ünïcode.md": "unicode path\n",
      "assets/logo.bin": binary,
      "big/large.txt": large,
      "empty.txt": "",
    });
    await repo.write("run.sh", "#!/bin/sh\necho hi\n");
    await repo.git("add", "run.sh");
    await repo.git("update-index", "--chmod=+x", "run.sh");
    await symlink("README.md", path.join(repo.dir, "link-to-readme"));
    const first = await repo.commit("initial");
    // A submodule entry (gitlink) pointing at some commit.
    await repo.git("update-index", "--add", "--cacheinfo", `160000,${first},vendor/sub`);
    await repo.git("commit", "-q", "-m", "add submodule");
    const commit = await repo.head();

    const reader = await localReader(repo);
    expect(reader.kind).toBe("git");
    expect(await reader.resolveHead()).toEqual({ state: "ok", commit, branch: "main" });
    // The raw tree really holds the symlink and the gitlink that the listing leaves out.
    const raw = await repo.git("ls-tree", "-r", commit);
    expect(raw).toContain("120000 blob");
    expect(raw).toContain("160000 commit");

    const files = byPath(await reader.listFiles(commit));
    expect(files.map((f) => f.path)).toEqual([
      "README.md",
      "assets/logo.bin",
      "big/large.txt",
      "docs/with space and ünïcode.md",
      "empty.txt",
      "run.sh",
      "src/deep/nested/file.txt",
      "src/index.ts",
    ]);
    const sizes = Object.fromEntries(files.map((f) => [f.path, f.size]));
    expect(sizes["assets/logo.bin"]).toBe(4096);
    expect(sizes["big/large.txt"]).toBe(3 * 1024 * 1024);
    expect(sizes["empty.txt"]).toBe(0);
    expect(sizes["run.sh"]).toBe(18);
    const readmeSha = (await repo.git("rev-parse", `${commit}:README.md`)).trim();
    expect(files.find((f) => f.path === "README.md")?.blobSha).toBe(readmeSha);

    const blobs = await reader.readBlobs(
      files.map(({ path: p, blobSha }) => ({ path: p, blobSha })),
    );
    expect(blobs.size).toBe(files.length);
    expect(blobs.get("assets/logo.bin")?.equals(binary)).toBe(true);
    expect(blobs.get("big/large.txt")?.equals(large)).toBe(true);
    expect(blobs.get("empty.txt")?.length).toBe(0);
    expect(blobs.get("docs/with space and ünïcode.md")?.toString()).toBe("unicode path\n");
  });

  it("reports added, modified, removed and renamed files between two commits", async () => {
    const repo = await createTestRepo();
    const body = "a long enough body so that rename detection has content to compare\n".repeat(20);
    const code = "export function f() { return 1; }\n".repeat(30);
    await repo.writeMany({
      "keep.txt": "unchanged\n",
      "edit.txt": "v1\n",
      "gone.txt": "bye\n",
      "old-name.md": body,
      "move-and-edit.ts": code,
    });
    const from = await repo.commit("one");
    await repo.write("edit.txt", "v2, longer\n");
    await repo.remove("gone.txt");
    await repo.write("new/file.txt", "fresh\n");
    await repo.rename("old-name.md", "docs/new-name.md");
    await repo.remove("move-and-edit.ts");
    await repo.write("lib/moved.ts", `${code}export const extra = 2;\n`);
    const to = await repo.commit("two");

    const reader = await localReader(repo);
    const changes = await reader.diff(from, to);
    expect(summarize(changes)).toEqual([
      "A new/file.txt",
      "D gone.txt",
      "M edit.txt",
      "R move-and-edit.ts -> lib/moved.ts",
      "R old-name.md -> docs/new-name.md",
    ]);
    const edited = changes.find((c) => c.path === "edit.txt");
    expect(edited).toMatchObject({ type: "modified", size: "v2, longer\n".length });
    const moved = changes.find((c) => c.path === "lib/moved.ts");
    expect(moved).toMatchObject({
      blobSha: (await repo.git("rev-parse", `${to}:lib/moved.ts`)).trim(),
      size: code.length + "export const extra = 2;\n".length,
    });
    expect(apply(await reader.listFiles(from), changes)).toEqual(
      byPath(await reader.listFiles(to)),
    );
    expect(await reader.diff(to, to)).toEqual([]);
  });

  it("treats a file that becomes a symlink as removed, and the reverse as added", async () => {
    const repo = await createTestRepo();
    await repo.writeMany({ "target.txt": "t\n", "was-file": "content\n" });
    await symlink("target.txt", path.join(repo.dir, "was-link"));
    const from = await repo.commit("one");
    await repo.remove("was-file");
    await symlink("target.txt", path.join(repo.dir, "was-file"));
    await repo.remove("was-link");
    await repo.write("was-link", "now a file\n");
    const to = await repo.commit("two");
    const reader = await localReader(repo);
    const changes = await reader.diff(from, to);
    expect(summarize(changes)).toEqual(["A was-link", "D was-file"]);
    expect(apply(await reader.listFiles(from), changes)).toEqual(
      byPath(await reader.listFiles(to)),
    );
  });

  it("diffs correctly across a history rewrite while the old commit still exists", async () => {
    const repo = await createTestRepo();
    await repo.writeMany({ "a.txt": "a1\n", "b.txt": "b1\n" });
    const base = await repo.commit("base");
    await repo.writeMany({ "a.txt": "a2\n", "c.txt": "c\n" });
    const cursor = await repo.commit("cursor, later rewritten");
    await repo.resetHard(base);
    await repo.writeMany({ "b.txt": "b2\n", "d.txt": "d\n" });
    const rewritten = await repo.commit("rewritten");

    const reader = await localReader(repo);
    expect(await headCommit(reader)).toBe(rewritten);
    const changes = await reader.diff(cursor, rewritten);
    // A tree diff, not "commits since the merge base": a.txt goes back to a1, c.txt goes away.
    expect(summarize(changes)).toEqual(["A d.txt", "D c.txt", "M a.txt", "M b.txt"]);
    expect(apply(await reader.listFiles(cursor), changes)).toEqual(
      byPath(await reader.listFiles(rewritten)),
    );
  });

  it("throws CursorMissingError once the old commit has been garbage-collected", async () => {
    const repo = await createTestRepo();
    await repo.write("a.txt", "a1\n");
    const base = await repo.commit("base");
    await repo.write("a.txt", "a2\n");
    const cursor = await repo.commit("to be dropped");
    await repo.resetHard(base);
    await repo.write("b.txt", "b\n");
    const head = await repo.commit("new history");
    await repo.expireAndGc();
    await expect(repo.git("cat-file", "-e", `${cursor}^{commit}`)).rejects.toThrow();

    const reader = await localReader(repo);
    const error = await rejection(reader.diff(cursor, head));
    expect(error).toBeInstanceOf(CursorMissingError);
    expect(error).toMatchObject({ code: "cursor_missing", retryable: false, commit: cursor });
    // A sha the repository never had is just as missing.
    await expect(reader.diff("1".repeat(40), head)).rejects.toMatchObject({
      code: "cursor_missing",
    });
    // A missing target is not a cursor problem.
    await expect(reader.diff(base, "2".repeat(40))).rejects.toBeInstanceOf(NotFoundError);
  });

  it("reports an empty repository, a deleted branch and the default branch", async () => {
    const repo = await createTestRepo({ branch: "trunk" });
    expect(await (await localReader(repo)).resolveHead()).toEqual({ state: "empty" });
    expect(await (await localReader(repo, "feature")).resolveHead()).toEqual({ state: "empty" });

    await repo.write("x.txt", "x\n");
    const first = await repo.commit("first");
    await repo.checkoutNew("feature/login");
    await repo.write("y.txt", "y\n");
    const feature = await repo.commit("feature work");
    await repo.checkout("trunk");

    expect(await (await localReader(repo)).resolveHead()).toEqual({
      state: "ok",
      commit: first,
      branch: "trunk",
    });
    const featureReader = await localReader(repo, "feature/login");
    expect(await featureReader.resolveHead()).toEqual({
      state: "ok",
      commit: feature,
      branch: "feature/login",
    });
    await repo.deleteBranch("feature/login");
    expect(await featureReader.resolveHead()).toEqual({
      state: "branch-missing",
      branch: "feature/login",
    });
    await expect((await localReader(repo, "bad..name")).resolveHead()).rejects.toBeInstanceOf(
      ValidationError,
    );

    await repo.git("checkout", "-q", "--detach", first);
    await expect((await localReader(repo)).resolveHead()).rejects.toThrow(/detached HEAD/);
  });

  it("reads thousands of blobs in one call, with duplicates and vanished blobs", async () => {
    const repo = await createTestRepo();
    const files: Record<string, string> = {};
    for (let i = 0; i < 3000; i++)
      files[`pkg${i % 30}/file-${i}.txt`] = `file number ${i}\n${"·".repeat(i % 50)}\n`;
    files["dup-a.txt"] = "same content\n";
    files["dup-b.txt"] = "same content\n";
    await repo.writeMany(files);
    const commit = await repo.commit("many files");
    const reader = await localReader(repo);
    const listing = await reader.listFiles(commit);
    expect(listing).toHaveLength(3002);

    const vanished = "3".repeat(40);
    const tree = (await repo.git("rev-parse", `${commit}^{tree}`)).trim();
    const request = [
      ...listing,
      { path: "ghost.txt", blobSha: vanished },
      { path: "not-a-blob", blobSha: tree },
    ];
    const blobs = await reader.readBlobs(request);
    expect(blobs.size).toBe(3004);
    expect(blobs.get("not-a-blob")).toBeNull();
    for (const [p, content] of Object.entries(files))
      expect(blobs.get(p)?.toString("utf8")).toBe(content);
    expect(blobs.get("ghost.txt")).toBeNull();
    expect(await reader.readBlobs([])).toEqual(new Map());
  });

  it("returns null for a blob that existed and was collected", async () => {
    const repo = await createTestRepo();
    await repo.write("keep.txt", "keep\n");
    const base = await repo.commit("base");
    await repo.write("secret.txt", "to be purged\n");
    const dropped = await repo.commit("dropped");
    const reader = await localReader(repo);
    const entry = (await reader.listFiles(dropped)).find((f) => f.path === "secret.txt");
    expect(entry).toBeDefined();
    const before = await reader.readBlobs([entry as FileEntry]);
    expect(before.get("secret.txt")?.toString()).toBe("to be purged\n");

    await repo.resetHard(base);
    await repo.expireAndGc();
    const after = await reader.readBlobs([entry as FileEntry, ...(await reader.listFiles(base))]);
    expect(after.get("secret.txt")).toBeNull();
    expect(after.get("keep.txt")?.toString()).toBe("keep\n");
  });

  it("refuses bad input with clear errors", async () => {
    const workDir = await makeTempDir();
    const notRepo = await makeTempDir("ballast-plain-");
    const error = await rejection(
      createSourceReader({ kind: "git", location: notRepo }, { workDir }).resolveHead(),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toContain("is not a git repository");

    const missing = path.join(notRepo, "does-not-exist");
    await expect(
      createSourceReader({ kind: "git", location: missing }, { workDir }).resolveHead(),
    ).rejects.toBeInstanceOf(NotFoundError);

    const repo = await createTestRepo();
    await repo.write("sub/a.txt", "a\n");
    const commit = await repo.commit("c");
    await expect(
      createSourceReader(
        { kind: "git", location: path.join(repo.dir, "sub") },
        { workDir },
      ).resolveHead(),
    ).rejects.toThrow(/not its top level/);

    expect(() =>
      createSourceReader({ kind: "git", location: "relative/path" }, { workDir }),
    ).toThrow(ValidationError);
    const reader = await localReader(repo);
    await expect(reader.listFiles("HEAD")).rejects.toBeInstanceOf(ValidationError);
    await expect(reader.listFiles("--output=/tmp/x")).rejects.toBeInstanceOf(ValidationError);
    await expect(reader.listFiles("4".repeat(40))).rejects.toBeInstanceOf(NotFoundError);
    await expect(reader.diff("main", commit)).rejects.toBeInstanceOf(ValidationError);
    await expect(
      reader.readBlobs([{ path: "a", blobSha: "HEAD:sub/a.txt" }]),
    ).rejects.toBeInstanceOf(ValidationError);
  });
});

describe("git source: git URL through a bare mirror", () => {
  it("mirrors a file:// remote, then fetches new pushes, rewrites and deletions", async () => {
    const repo = await createTestRepo();
    const remote = await repo.createBareRemote();
    await repo.writeMany({ "a.txt": "a1\n", "b.txt": "b1\n" });
    const c1 = await repo.commit("one");
    await repo.push("origin", "main");

    const workDir = await makeTempDir("ballast-work-");
    const reader = createSourceReader({ kind: "git", location: remote.url }, { workDir });
    const concurrent = createSourceReader({ kind: "git", location: remote.url }, { workDir });
    const heads = await Promise.all([reader.resolveHead(), concurrent.resolveHead()]);
    expect(heads).toEqual([
      { state: "ok", commit: c1, branch: "main" },
      { state: "ok", commit: c1, branch: "main" },
    ]);
    const mirrors = await readdir(path.join(workDir, "git-mirrors"));
    expect(mirrors).toHaveLength(1);
    expect(byPath(await reader.listFiles(c1)).map((f) => f.path)).toEqual(["a.txt", "b.txt"]);

    // A new push is fetched on the next resolveHead, by this reader or a new one.
    await repo.writeMany({ "a.txt": "a2\n", "c.txt": "c\n" });
    const c2 = await repo.commit("two");
    await repo.push("origin", "main");
    const second = createSourceReader({ kind: "git", location: remote.url }, { workDir });
    expect(await second.resolveHead()).toEqual({ state: "ok", commit: c2, branch: "main" });
    expect(await readdir(path.join(workDir, "git-mirrors"))).toEqual(mirrors);
    expect(summarize(await second.diff(c1, c2))).toEqual(["A c.txt", "M a.txt"]);
    const blobs = await second.readBlobs(await second.listFiles(c2));
    expect(blobs.get("a.txt")?.toString()).toBe("a2\n");

    // A force-push: the remote loses c2, the mirror still has it, so the diff works.
    await repo.resetHard(c1);
    await repo.write("d.txt", "d\n");
    const c3 = await repo.commit("rewritten");
    await repo.push("origin", "main", { force: true });
    await remote.git("reflog", "expire", "--expire=now", "--all");
    await remote.git("gc", "-q", "--prune=now");
    expect(await reader.resolveHead()).toEqual({ state: "ok", commit: c3, branch: "main" });
    const changes = await reader.diff(c2, c3);
    expect(summarize(changes)).toEqual(["A d.txt", "D c.txt", "M a.txt"]);
    expect(apply(await reader.listFiles(c2), changes)).toEqual(byPath(await reader.listFiles(c3)));

    // A commit pushed after the last fetch is fetched on demand.
    await repo.write("e.txt", "e\n");
    const c4 = await repo.commit("not yet fetched");
    await repo.push("origin", "main");
    expect(summarize(await reader.diff(c3, c4))).toEqual(["A e.txt"]);

    // Branches follow the remote: a new default branch, then a deleted branch.
    await repo.checkoutNew("release");
    await repo.push("origin", "release");
    const release = createSourceReader(
      { kind: "git", location: remote.url, branch: "release" },
      { workDir },
    );
    expect(await release.resolveHead()).toEqual({ state: "ok", commit: c4, branch: "release" });
    await remote.git("symbolic-ref", "HEAD", "refs/heads/release");
    expect(await reader.resolveHead()).toMatchObject({ state: "ok", branch: "release" });
    await remote.git("symbolic-ref", "HEAD", "refs/heads/main");
    await repo.push("origin", ":release");
    expect(await release.resolveHead()).toEqual({ state: "branch-missing", branch: "release" });
  });

  it("reports an empty remote, and a missing one as NotFoundError", async () => {
    const workDir = await makeTempDir("ballast-work-");
    const empty = await createBareRepo("main");
    const reader = createSourceReader({ kind: "git", location: empty.url }, { workDir });
    expect(await reader.resolveHead()).toEqual({ state: "empty" });

    const gone = `${empty.url}-missing`;
    const error = await rejection(
      createSourceReader({ kind: "git", location: gone }, { workDir }).resolveHead(),
    );
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as BallastError).message).toContain("not found");
    // A failed first fetch leaves no half-made mirror behind.
    const left = await readdir(path.join(workDir, "git-mirrors"));
    expect(left.filter((name) => name.includes(".tmp-"))).toEqual([]);
  });

  it("never puts credentials from the URL into error messages", async () => {
    const workDir = await makeTempDir("ballast-work-");
    const url = "http://user:s3cr3t-pa55word@127.0.0.1:9/nothing.git";
    const error = await rejection(
      createSourceReader({ kind: "git", location: url }, { workDir }).resolveHead(),
    );
    expect(error).toBeInstanceOf(BallastError);
    expect((error as Error).message).not.toContain("s3cr3t-pa55word");
  });
});
