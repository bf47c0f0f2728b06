import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as sourcesGet } from "../../app/api/admin/sources/route";
import { sources } from "../../db/schema";
import { createApiKey } from "../../lib/auth/api-keys";
import { loadConfig } from "../../lib/config";
import { createRuntime, setRuntime } from "../../lib/runtime";
import { describeResult, PROJECT_ROOT, runCli } from "../support/cli";
import { createTestRepo, makeTempDir, removeTempDirs } from "../support/git-repo";
import { createTestRuntime } from "../support/runtime";

/**
 * Defect 4 of issue 6: a location stored with credentials (before they were refused) is shown
 * redacted everywhere — the admin API and the CLI; the CLI refuses new ones and still takes
 * local paths; its --max-file-bytes names the allowed range.
 */
const TOKEN = "glpat-planted0123456789secret";
const LEGACY = `https://deploy:${TOKEN}@git.example.com/team/legacy.git`;

afterAll(removeTempDirs);

describe("credentials in source locations", () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await makeTempDir("ballast-cli-sec-");
    // A row written before credentials were refused, straight into the database.
    const config = loadConfig({ BALLAST_ENV: "development", BALLAST_DATA_DIR: dataDir });
    const runtime = await createRuntime(config, {
      migrationsFolder: path.join(PROJECT_ROOT, "db", "migrations"),
    });
    await runtime.db.insert(sources).values({ name: "legacy", kind: "git", location: LEGACY });
    await runtime.close();
  });

  it("are redacted in the CLI's listing", async () => {
    const listed = await runCli(["sources", "list"], { dataDir });
    expect(listed.code, describeResult(listed)).toBe(0);
    expect(listed.stdout).toContain("https://[REDACTED]@git.example.com/team/legacy.git");
    expect(listed.stdout + listed.stderr).not.toContain(TOKEN);
  });

  it("are refused when adding, without echoing them, while local paths are still accepted", async () => {
    const refused = await runCli(
      ["sources", "add", "https://user:tok3n-abcdef@git.example.com/o/r.git", "--no-verify"],
      { dataDir },
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/credentials do not belong in a source URL/);
    expect(refused.stderr + refused.stdout).not.toContain("tok3n-abcdef");
    const tooBig = await runCli(
      ["sources", "add", "github:octo/big", "--max-file-bytes", "9000000000000000", "--no-verify"],
      { dataDir },
    );
    expect(tooBig.code).toBe(1);
    expect(tooBig.stderr).toMatch(
      /--max-file-bytes must be a whole number of bytes from 1 to 1073741824/,
    );
    // The CLI runs as the operator: any local repository, no SOURCE_LOCAL_ROOTS needed.
    const repo = await createTestRepo();
    await repo.write("a.md", "# a\n");
    await repo.commit("one");
    const added = await runCli(["sources", "add", repo.dir, "--name", "local"], { dataDir });
    expect(added.code, describeResult(added)).toBe(0);
    expect(added.stdout).toContain(repo.dir);
  });

  it("are redacted in the admin API's listing", async () => {
    const rt = await createTestRuntime();
    setRuntime(rt);
    try {
      await rt.db.insert(sources).values({ name: "legacy", kind: "git", location: LEGACY });
      const key = (await createApiKey(rt.db, { name: "v", role: "viewer", createdBy: "test" })).key;
      const response = await sourcesGet(
        new Request("http://localhost/api/admin/sources", {
          headers: { authorization: `Bearer ${key}` },
        }),
        { params: Promise.resolve({} as never) },
      );
      const text = await response.text();
      expect(response.status).toBe(200);
      expect(text).toContain("https://[REDACTED]@git.example.com/team/legacy.git");
      expect(text).not.toContain(TOKEN);
    } finally {
      setRuntime(undefined);
      await rt.close();
    }
  });
});
