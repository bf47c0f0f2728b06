import { generateKeyPairSync, randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { NotFoundError, ProviderError, ValidationError } from "../../lib/errors";
import {
  type Change,
  CursorMissingError,
  createSourceReader,
  type FileEntry,
  type GitHubReaderOptions,
  type SourceReader,
} from "../../lib/sources";
import { FakeGitHub } from "../support/fake-github";
import { createTestRepo, makeTempDir, removeTempDirs, type TestRepo } from "../support/git-repo";

let fake: FakeGitHub;
let workDir: string;

beforeAll(async () => {
  fake = await FakeGitHub.start();
  workDir = await makeTempDir("ballast-work-");
});
afterAll(async () => {
  await fake.close();
  await removeTempDirs();
});
afterEach(() => {
  fake.requests.length = 0;
});

interface Warning {
  obj: Record<string, unknown>;
  msg: string;
}

function reader(
  location: string,
  options: Partial<GitHubReaderOptions> & { branch?: string; warnings?: Warning[] } = {},
): SourceReader {
  const { branch, warnings, ...github } = options;
  return createSourceReader(
    { kind: "github", location, branch },
    {
      workDir,
      github: { apiUrl: fake.url, token: fake.token, retryTimeUnitMs: 5, ...github },
      log: { warn: (obj, msg) => warnings?.push({ obj: obj as Record<string, unknown>, msg }) },
    },
  );
}

/** The same repository read with git directly: the reference the API answers must match. */
function gitReader(repo: TestRepo): SourceReader {
  return createSourceReader({ kind: "git", location: repo.dir }, { workDir });
}

let repoCount = 0;
async function hostedRepo(): Promise<{ repo: TestRepo; name: string }> {
  const repo = await createTestRepo();
  repoCount += 1;
  const name = `octo-org/repo-${repoCount}`;
  fake.addRepo(name, repo.dir);
  return { repo, name };
}

function byPath<T extends { path: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function sortChanges(changes: Change[]): Change[] {
  return [...changes].sort((a, b) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : a.type < b.type ? -1 : 1,
  );
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("GitHub source against a loopback GitHub", () => {
  it("resolves the head, lists files and reads blobs exactly as git does", async () => {
    const { repo, name } = await hostedRepo();
    const binary = randomBytes(10_000);
    await repo.writeMany({
      "README.md": "# hi\n",
      "src/a.ts": "export const a = 1;\n",
      "src/nested/b.ts": "export const b = 2;\n",
      "img/logo.png": binary,
      "docs/ünïcode name.md": "u\n",
    });
    const commit = await repo.commit("one");
    const gh = reader(name);
    expect(gh.kind).toBe("github");
    expect(await gh.resolveHead()).toEqual({ state: "ok", commit, branch: "main" });

    const files = byPath(await gh.listFiles(commit));
    expect(files).toEqual(byPath(await gitReader(repo).listFiles(commit)));
    const blobs = await gh.readBlobs([...files, { path: "ghost", blobSha: "5".repeat(40) }]);
    expect(blobs.get("img/logo.png")?.equals(binary)).toBe(true);
    expect(blobs.get("docs/ünïcode name.md")?.toString()).toBe("u\n");
    expect(blobs.get("ghost")).toBeNull();
    expect(fake.requests.every((r) => r.auth === "token")).toBe(true);
  });

  it("diffs through the compare API, with renames", async () => {
    const { repo, name } = await hostedRepo();
    const body = "content long enough for git to detect the rename reliably\n".repeat(10);
    await repo.writeMany({
      "keep.txt": "k\n",
      "edit.txt": "1\n",
      "gone.txt": "g\n",
      "old.md": body,
    });
    const from = await repo.commit("one");
    await repo.write("edit.txt", "2\n");
    await repo.remove("gone.txt");
    await repo.rename("old.md", "docs/new.md");
    await repo.write("added.txt", "new\n");
    const to = await repo.commit("two");

    const changes = await reader(name).diff(from, to);
    expect(sortChanges(changes)).toEqual(sortChanges(await gitReader(repo).diff(from, to)));
    expect(changes.find((c) => c.type === "renamed")).toMatchObject({
      oldPath: "old.md",
      path: "docs/new.md",
    });
    expect(fake.requestsTo("/compare/")).toHaveLength(1);
    expect(fake.requestsTo("/git/trees/").map((r) => r.path)).toEqual([
      `/repos/${name}/git/trees/${to}?recursive=1`,
    ]);
  });

  it("falls back to a tree diff after a force-push, and past the compare file cap", async () => {
    const { repo, name } = await hostedRepo();
    await repo.writeMany({ "a.txt": "a1\n", "b.txt": "b1\n" });
    const base = await repo.commit("base");
    await repo.writeMany({ "a.txt": "a2\n", "c.txt": "c\n" });
    const cursor = await repo.commit("later rewritten");
    await repo.resetHard(base);
    await repo.writeMany({ "b.txt": "b2\n", "d.txt": "d\n" });
    const rewritten = await repo.commit("rewritten");

    const gh = reader(name);
    const diverged = await gh.diff(cursor, rewritten);
    expect(sortChanges(diverged)).toEqual(
      sortChanges(await gitReader(repo).diff(cursor, rewritten)),
    );
    expect(diverged.map((c) => `${c.type} ${c.path}`).sort()).toEqual([
      "added d.txt",
      "modified a.txt",
      "modified b.txt",
      "removed c.txt",
    ]);
    expect(fake.requestsTo("/git/trees/")).toHaveLength(2);

    // 320 changed files: compare lists 300, so the reader must not trust it.
    const many: Record<string, string> = {};
    for (let i = 0; i < 320; i++) many[`gen/file-${i}.txt`] = `generated ${i}\n`;
    await repo.writeMany(many);
    const big = await repo.commit("many files");
    fake.requests.length = 0;
    const changes = await gh.diff(rewritten, big);
    expect(changes).toHaveLength(320);
    expect(changes.every((c) => c.type === "added")).toBe(true);
    expect(fake.requestsTo("/compare/")).toHaveLength(1);
    expect(fake.requestsTo("/git/trees/")).toHaveLength(2);

    // A comparison GitHub cannot generate (5xx after the retries): the tree diff answers.
    await repo.write("gen/file-0.txt", "edited\n");
    const edited = await repo.commit("edit one");
    fake.requests.length = 0;
    const warnings: Warning[] = [];
    fake.fail({ kind: "status", status: 502, match: "/compare/", times: 4 });
    const afterOutage = await reader(name, { warnings }).diff(big, edited);
    expect(afterOutage.map((c) => `${c.type} ${c.path}`)).toEqual(["modified gen/file-0.txt"]);
    expect(fake.requestsTo("/compare/").map((r) => r.status)).toEqual([502, 502, 502, 502]);
    expect(warnings.map((w) => w.msg)).toEqual([
      "GitHub compare failed; falling back to a tree diff",
    ]);
  });

  it("throws CursorMissingError when the base commit is unknown or gone", async () => {
    const { repo, name } = await hostedRepo();
    await repo.write("a.txt", "1\n");
    const base = await repo.commit("base");
    await repo.write("a.txt", "2\n");
    const dropped = await repo.commit("dropped");
    await repo.resetHard(base);
    await repo.write("b.txt", "b\n");
    const head = await repo.commit("head");
    await repo.expireAndGc();

    const gh = reader(name);
    const error = await rejection(gh.diff(dropped, head));
    expect(error).toBeInstanceOf(CursorMissingError);
    expect(error).toMatchObject({ code: "cursor_missing", commit: dropped });
    await expect(gh.diff("6".repeat(40), head)).rejects.toBeInstanceOf(CursorMissingError);
    await expect(gh.diff(base, "7".repeat(40))).rejects.toBeInstanceOf(NotFoundError);
    await expect(gh.listFiles("8".repeat(40))).rejects.toBeInstanceOf(NotFoundError);
    await expect(gh.listFiles("main")).rejects.toBeInstanceOf(ValidationError);
  });

  it("walks subtrees when a recursive tree comes back truncated", async () => {
    const repo = await createTestRepo();
    const files: Record<string, string> = {};
    for (let i = 0; i < 60; i++) files[`top-${i}.txt`] = `t${i}\n`;
    for (let d = 0; d < 4; d++) {
      for (let i = 0; i < 15; i++) files[`dir-${d}/sub-${i % 3}/f-${i}.txt`] = `${d}/${i}\n`;
    }
    files["small/one.txt"] = "one\n";
    await repo.writeMany(files);
    const commit = await repo.commit("wide");
    const small = await FakeGitHub.start({ repos: { "o/wide": repo.dir }, maxTreeEntries: 12 });
    try {
      const gh = createSourceReader(
        { kind: "github", location: "o/wide" },
        { workDir, github: { apiUrl: small.url, token: small.token, concurrency: 3 } },
      );
      const listing = byPath(await gh.listFiles(commit));
      expect(listing).toHaveLength(Object.keys(files).length);
      expect(listing).toEqual(byPath(await gitReader(repo).listFiles(commit)));
      // The root came back truncated, then subtrees were read one by one.
      expect(small.requests.some((r) => r.path.includes(`/git/trees/${commit}?recursive=1`))).toBe(
        true,
      );
      expect(small.requests.some((r) => r.path.endsWith(`/git/trees/${commit}`))).toBe(true);
    } finally {
      await small.close();
    }
  });

  it("reports an empty repository and a missing branch", async () => {
    const { repo, name } = await hostedRepo();
    expect(await reader(name).resolveHead()).toEqual({ state: "empty" });
    await repo.write("a.txt", "a\n");
    await repo.commit("a");
    expect(await reader(name, { branch: "nope" }).resolveHead()).toEqual({
      state: "branch-missing",
      branch: "nope",
    });
    await repo.checkoutNew("feature/x");
    const tip = await repo.commit("on feature");
    expect(await reader(name, { branch: "feature/x" }).resolveHead()).toEqual({
      state: "ok",
      commit: tip,
      branch: "feature/x",
    });
  });

  it("waits out a primary rate limit, then succeeds, and says so", async () => {
    const { repo, name } = await hostedRepo();
    await repo.write("a.txt", "a\n");
    const commit = await repo.commit("a");
    const warnings: Warning[] = [];
    fake.fail({ kind: "primary-rate-limit", match: "/git/trees/", times: 2 });
    const files = await reader(name, { warnings }).listFiles(commit);
    expect(files.map((f) => f.path)).toEqual(["a.txt"]);
    expect(fake.requestsTo("/git/trees/").map((r) => r.status)).toEqual([403, 403, 200]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]?.obj).toMatchObject({
      provider: "github",
      limit: "primary",
      retrying: true,
    });
  });

  it("waits out a secondary rate limit (429 + retry-after), then succeeds", async () => {
    const { repo, name } = await hostedRepo();
    await repo.write("a.txt", "a\n");
    const commit = await repo.commit("a");
    const warnings: Warning[] = [];
    fake.fail({
      kind: "secondary-rate-limit",
      status: 429,
      retryAfterSeconds: 2,
      match: "/git/blobs/",
    });
    const [file] = await reader(name, { warnings }).listFiles(commit);
    const blobs = await reader(name, { warnings }).readBlobs([file as FileEntry]);
    expect(blobs.get("a.txt")?.toString()).toBe("a\n");
    expect(fake.requestsTo("/git/blobs/").map((r) => r.status)).toEqual([429, 200]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.obj).toMatchObject({
      limit: "secondary",
      retryAfterSeconds: 2,
      retrying: true,
    });
  });

  it("gives up with a retryable 429 error when the wait is too long or retries run out", async () => {
    const { repo, name } = await hostedRepo();
    await repo.write("a.txt", "a\n");
    await repo.commit("a");
    const warnings: Warning[] = [];
    fake.fail({ kind: "primary-rate-limit", match: `/repos/${name}`, resetInSeconds: 3600 });
    const error = await rejection(
      reader(name, { warnings, maxRateLimitWaitSeconds: 60 }).resolveHead(),
    );
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ httpStatus: 429, retryable: true, code: "github_error" });
    expect((error as ProviderError).retryAfterMs).toBeGreaterThan(3_000_000);
    expect(warnings[0]?.obj).toMatchObject({ limit: "primary", retrying: false });
    expect(fake.requests).toHaveLength(1);

    fake.requests.length = 0;
    fake.fail({ kind: "secondary-rate-limit", match: `/repos/${name}`, times: 10 });
    await expect(reader(name, { maxRateLimitRetries: 2 }).resolveHead()).rejects.toMatchObject({
      httpStatus: 429,
      retryable: true,
    });
    expect(fake.requests).toHaveLength(3);
  });

  it("retries 5xx answers, then gives up with a retryable error", async () => {
    const { repo, name } = await hostedRepo();
    await repo.write("a.txt", "a\n");
    const commit = await repo.commit("a");
    fake.fail({ kind: "status", status: 502, match: "/git/trees/", times: 2 });
    expect((await reader(name).listFiles(commit)).map((f) => f.path)).toEqual(["a.txt"]);
    expect(fake.requestsTo("/git/trees/").map((r) => r.status)).toEqual([502, 502, 200]);

    fake.requests.length = 0;
    fake.fail({ kind: "status", status: 500, match: "/git/trees/", times: 10 });
    const error = await rejection(reader(name, { serverErrorRetries: 2 }).listFiles(commit));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ httpStatus: 500, retryable: true });
    expect(fake.requestsTo("/git/trees/")).toHaveLength(3);
  });

  it("maps a missing repository to NotFoundError and bad credentials to a non-retryable error", async () => {
    const { name } = await hostedRepo();
    await expect(reader("octo-org/does-not-exist").resolveHead()).rejects.toBeInstanceOf(
      NotFoundError,
    );

    fake.requests.length = 0;
    const badToken = `ghp_${"B".repeat(36)}`;
    const error = await rejection(reader(name, { token: badToken }).resolveHead());
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ httpStatus: 401, retryable: false });
    expect((error as Error).message).toContain("Bad credentials");
    expect((error as Error).message).not.toContain(badToken);
    expect(JSON.stringify(error)).not.toContain(badToken);
    expect(fake.requests).toHaveLength(1);

    fake.requests.length = 0;
    fake.fail({
      kind: "status",
      status: 403,
      body: { message: "Resource not accessible by integration" },
    });
    await expect(reader(name).resolveHead()).rejects.toMatchObject({
      httpStatus: 403,
      retryable: false,
    });
    expect(fake.requests).toHaveLength(1);

    expect(() => reader("not a repo")).toThrow(ValidationError);
    expect(() => reader("a/b/c")).toThrow(ValidationError);
  });

  it("authenticates as a GitHub App installation, finding the installation", async () => {
    const repo = await createTestRepo();
    await repo.write("a.txt", "a\n");
    const commit = await repo.commit("a");
    const { privateKey, publicKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs1", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const appFake = await FakeGitHub.start({
      repos: { "acme/app-repo": repo.dir },
      app: { appId: "4242", publicKey, installationId: 77 },
    });
    try {
      const gh = createSourceReader(
        { kind: "github", location: "acme/app-repo" },
        { workDir, github: { apiUrl: appFake.url, appId: "4242", privateKey } },
      );
      expect(await gh.resolveHead()).toEqual({ state: "ok", commit, branch: "main" });
      expect(
        appFake.requests.map((r) => `${r.method} ${r.path.split("?")[0]} ${r.auth} ${r.status}`),
      ).toEqual([
        "GET /repos/acme/app-repo/installation bearer 200",
        "POST /app/installations/77/access_tokens bearer 201",
        "GET /repos/acme/app-repo token 200",
        "GET /repos/acme/app-repo/git/ref/heads%2Fmain token 200",
      ]);
      expect(appFake.issuedTokens.size).toBe(1);

      const known = createSourceReader(
        { kind: "github", location: "acme/app-repo" },
        { workDir, github: { apiUrl: appFake.url, appId: "4242", privateKey, installationId: 77 } },
      );
      expect((await known.listFiles(commit)).map((f) => f.path)).toEqual(["a.txt"]);

      const wrongInstallation = createSourceReader(
        { kind: "github", location: "acme/app-repo" },
        { workDir, github: { apiUrl: appFake.url, appId: "4242", privateKey, installationId: 78 } },
      );
      const wrong = await rejection(wrongInstallation.resolveHead());
      expect(wrong).toBeInstanceOf(NotFoundError);
      expect((wrong as Error).message).toContain("has no installation 78");

      const otherKey = generateKeyPairSync("rsa", {
        modulusLength: 2048,
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
        publicKeyEncoding: { type: "spki", format: "pem" },
      }).privateKey;
      const wrongKey = createSourceReader(
        { kind: "github", location: "acme/app-repo" },
        {
          workDir,
          github: { apiUrl: appFake.url, appId: "4242", privateKey: otherKey, installationId: 77 },
        },
      );
      const denied = await rejection(wrongKey.resolveHead());
      expect(denied).toMatchObject({ httpStatus: 401, retryable: false });
      expect((denied as Error).message).not.toContain("PRIVATE KEY");
    } finally {
      await appFake.close();
    }
  });
});
