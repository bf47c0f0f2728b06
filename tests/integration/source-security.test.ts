import { mkdir, readdir, readFile, stat, symlink } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BallastError, ValidationError } from "../../lib/errors";
import { checkLocalPath, checkSourceAccess } from "../../lib/security/source-access";
import { OutboundUrlError, type UrlPolicy } from "../../lib/security/url-policy";
import { GitSourceReader } from "../../lib/sources/git";
import { createTestRepo, makeTempDir, removeTempDirs } from "../support/git-repo";

afterAll(removeTempDirs);

/** Serves a bare repository over git's dumb HTTP protocol on loopback, counting requests. */
async function dumbGitServer(
  bareDir: string,
  options: { redirectTo?: string } = {},
): Promise<{ port: number; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server: Server = createServer(async (req, res) => {
    requests.push(req.url ?? "");
    if (options.redirectTo) {
      res.writeHead(302, { location: `${options.redirectTo}${req.url}` }).end();
      return;
    }
    const relative = decodeURIComponent((req.url ?? "/").split("?")[0] ?? "/").replace(
      /^\/repo\.git\//,
      "",
    );
    const file = path.join(bareDir, relative);
    if (!file.startsWith(bareDir) || !(await stat(file).catch(() => null))?.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200).end(await readFile(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function bareRepoWithCommit(): Promise<{ bare: string; commit: string }> {
  const repo = await createTestRepo();
  await repo.write("README.md", "# pinned\n");
  const commit = await repo.commit("one");
  const remote = await repo.createBareRemote();
  await repo.push("origin", "main");
  await remote.git("update-server-info");
  return { bare: remote.path, commit };
}

const devPolicy: UrlPolicy = {
  schemes: ["https", "http", "ssh", "git"],
  allowHosts: [],
  allowPrivate: false,
};

describe("local paths added over HTTP", () => {
  it("are refused without SOURCE_LOCAL_ROOTS, outside them, and through .. or a symbolic link", async () => {
    const root = await makeTempDir("ballast-roots-");
    const inside = path.join(root, "repo");
    await mkdir(inside);
    const outside = await makeTempDir("ballast-outside-");
    await symlink(outside, path.join(root, "escape"));
    const refused = async (dir: string, roots: string[]) => {
      const error = await checkLocalPath(dir, roots).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, dir).toBeInstanceOf(ValidationError);
      return (error as Error).message;
    };
    expect(await refused(inside, [])).toMatch(/no SOURCE_LOCAL_ROOTS are configured/);
    expect(await refused("/etc", [root])).toMatch(/outside SOURCE_LOCAL_ROOTS/);
    expect(await refused(path.join(root, "..", "..", "etc"), [root])).toMatch(/outside/);
    expect(await refused(`${root}-sibling`, [root])).toMatch(/outside/);
    expect(await refused(path.join(root, "escape"), [root])).toMatch(/symbolic link/);
    expect(await refused(path.join(root, "missing"), [root])).toMatch(/does not exist/);
    await expect(checkLocalPath(inside, [root])).resolves.toBeUndefined();
    const policy = { localRoots: [root], outbound: devPolicy };
    await expect(
      checkSourceAccess({ kind: "git", location: `file://${inside}` }, policy),
    ).resolves.toBeUndefined();
    await expect(
      checkSourceAccess({ kind: "git", location: "file:///etc" }, policy),
    ).rejects.toThrow(/outside SOURCE_LOCAL_ROOTS/);
    await expect(
      checkSourceAccess({ kind: "git", location: "http://127.0.0.1:9/r.git" }, policy),
    ).rejects.toThrow(/loopback/);
    await expect(
      checkSourceAccess({ kind: "github", location: "octo/repo" }, policy),
    ).resolves.toBeUndefined();
  });
});

describe("git remotes at fetch time", () => {
  it("are checked again before each fetch, and git connects to the addresses that were checked", async () => {
    const { bare, commit } = await bareRepoWithCommit();
    const server = await dumbGitServer(bare);
    try {
      const workDir = await makeTempDir("ballast-work-");
      // "repo.ballast-test" resolves nowhere but in this resolver: git reaches the server only
      // through the pinned address, which proves the connection uses the checked addresses.
      let answer = ["127.0.0.1"];
      const reader = new GitSourceReader(
        { kind: "git", location: `http://repo.ballast-test:${server.port}/repo.git` },
        {
          workDir,
          urlPolicy: { ...devPolicy, allowHosts: ["127.0.0.1"] },
          resolve: async () => answer,
        },
      );
      expect(await reader.resolveHead()).toEqual({ state: "ok", commit, branch: "main" });
      const before = server.requests.length;
      expect(before).toBeGreaterThan(0);
      // The name now resolves somewhere not allowed: the next fetch is refused before git runs.
      answer = ["169.254.169.254"];
      const error = await reader.resolveHead().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(OutboundUrlError);
      expect((error as Error).message).toMatch(/link-local/);
      expect(server.requests.length).toBe(before);
    } finally {
      await server.close();
    }
  });

  it("refuses a private address by default and never follows a redirect", async () => {
    const { bare } = await bareRepoWithCommit();
    const target = await dumbGitServer(bare);
    const redirector = await dumbGitServer(bare, {
      redirectTo: `http://127.0.0.1:${target.port}`,
    });
    try {
      const workDir = await makeTempDir("ballast-work-");
      const refused = new GitSourceReader(
        { kind: "git", location: `http://127.0.0.1:${target.port}/repo.git` },
        { workDir, urlPolicy: devPolicy },
      );
      await expect(refused.resolveHead()).rejects.toThrow(/loopback address/);
      expect(target.requests).toEqual([]);
      const redirected = new GitSourceReader(
        { kind: "git", location: `http://127.0.0.1:${redirector.port}/repo.git` },
        { workDir, urlPolicy: { ...devPolicy, allowHosts: ["127.0.0.1"] } },
      );
      await expect(redirected.resolveHead()).rejects.toBeInstanceOf(BallastError);
      expect(redirector.requests.length).toBeGreaterThan(0);
      expect(target.requests).toEqual([]);
      // Nothing half-made is left behind.
      const mirrors = await readdir(path.join(workDir, "git-mirrors")).catch(() => []);
      expect(mirrors.filter((m) => m.includes(".tmp-"))).toEqual([]);
    } finally {
      await Promise.all([target.close(), redirector.close()]);
    }
  });
});
