import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CAT_FILE_IDLE_MS,
  catFileBatch,
  catFileProcessId,
  GitCommandError,
  runGit,
} from "../../lib/sources/git-cli";
import { createTestRepo, removeTempDirs, type TestRepo } from "../support/git-repo";

/**
 * The batches of a sync read blobs through one long-lived `git cat-file --batch` process per
 * repository (a spawn per batch forked the whole process, embedded database included): the
 * same process answers consecutive and concurrent reads correctly, ends when idle, and a
 * failure rejects the read and leaves no broken process behind.
 */

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let blobs: Map<string, string>;

async function blobSha(repo: TestRepo, file: string): Promise<string> {
  if (!blobs) {
    const listing = await repo.git("ls-tree", "-r", "-z", "HEAD");
    blobs = new Map(
      listing
        .split("\0")
        .filter(Boolean)
        .map((line) => {
          const [meta, name] = line.split("\t") as [string, string];
          return [name, meta.split(" ")[2] as string];
        }),
    );
  }
  return blobs.get(file) as string;
}

describe("git cat-file session", () => {
  let repo: TestRepo;
  let gitDir: string;
  const files: Record<string, string | Buffer> = {};

  beforeAll(async () => {
    repo = await createTestRepo();
    for (let i = 0; i < 300; i++)
      files[`src/f${i}.ts`] = `export const v${i} = ${i};\n`.repeat(i % 7);
    files["big.bin"] = Buffer.alloc(3 * 1024 * 1024, 7); // larger than a pipe's buffer
    files["empty.txt"] = "";
    await repo.writeMany(files);
    await repo.commit("files");
    gitDir = path.join(repo.dir, ".git");
  });

  afterAll(async () => {
    await removeTempDirs();
  });

  it("answers consecutive and concurrent reads from one process, byte for byte", async () => {
    const names = Object.keys(files);
    const shas = await Promise.all(names.map((f) => blobSha(repo, f)));
    const first = await catFileBatch(gitDir, shas.slice(0, 150));
    const pid = catFileProcessId(gitDir);
    expect(pid).toBeDefined();
    const [second, third] = await Promise.all([
      catFileBatch(gitDir, shas.slice(150)),
      catFileBatch(gitDir, [...shas].reverse()),
    ]);
    expect(catFileProcessId(gitDir)).toBe(pid);
    names.forEach((name, i) => {
      const sha = shas[i] as string;
      const got = (i < 150 ? first : second).get(sha);
      expect(Buffer.compare(got as Buffer, Buffer.from(files[name] as string | Buffer))).toBe(0);
      expect(Buffer.compare(third.get(sha) as Buffer, got as Buffer)).toBe(0);
    });
  });

  it("gives null for a missing object or a non-blob, and goes on", async () => {
    const tree = (await repo.git("rev-parse", "HEAD^{tree}")).trim();
    const sha = await blobSha(repo, "src/f3.ts");
    const missing = "0123456789abcdef0123456789abcdef01234567";
    const out = await catFileBatch(gitDir, [missing, tree, sha]);
    expect(out.get(missing)).toBeNull();
    expect(out.get(tree)).toBeNull();
    expect(out.get(sha)?.toString()).toBe(files["src/f3.ts"]);
  });

  it("ends when idle, and the next read starts another process", async () => {
    const sha = await blobSha(repo, "src/f5.ts");
    await catFileBatch(gitDir, [sha]);
    const pid = catFileProcessId(gitDir) as number;
    await new Promise((r) => setTimeout(r, CAT_FILE_IDLE_MS + 700));
    expect(catFileProcessId(gitDir)).toBeUndefined();
    expect(alive(pid)).toBe(false);
    const again = await catFileBatch(gitDir, [sha]);
    expect(again.get(sha)?.toString()).toBe(files["src/f5.ts"]);
    expect(catFileProcessId(gitDir)).not.toBe(pid);
  });

  it("rejects a read of a directory that is no repository, every time, with no process left", async () => {
    const notRepo = path.join(repo.dir, "src");
    const sha = await blobSha(repo, "src/f1.ts");
    for (let i = 0; i < 2; i++) {
      const error = await catFileBatch(notRepo, [sha]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GitCommandError);
      expect(catFileProcessId(notRepo)).toBeUndefined();
    }
    // The good repository is unaffected.
    expect((await catFileBatch(gitDir, [sha])).get(sha)?.toString()).toBe(files["src/f1.ts"]);
    await runGit(["--git-dir", gitDir, "rev-parse", "HEAD"]);
  });
});
