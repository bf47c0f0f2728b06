import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../scripts/next-app";
import { baseEnv, ensureBuilt, freePort } from "../support/app-server";
import { createTestRepo, removeTempDirs, type TestRepo } from "../support/git-repo";

/**
 * `npm run up` says "ready" only once /api/health answers 200, and stops with a non-zero exit
 * naming the part that is down otherwise.
 */
function runUp(env: NodeJS.ProcessEnv, args: string[]) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(projectRoot, "scripts", "up.ts"), ...args],
    { cwd: projectRoot, env },
  );
  let output = "";
  child.stdout?.on("data", (d) => {
    output += d;
  });
  child.stderr?.on("data", (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return { child, output: () => output, exited };
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("npm run up: a health-gated start", () => {
  let repo: TestRepo;
  const dirs: string[] = [];

  beforeAll(async () => {
    await ensureBuilt(); // up builds only when stale; build once, shared with the other files
    repo = await createTestRepo();
    await repo.writeMany({ "notes.md": "# Up\n\nThe harbour master keeps a tide ledger.\n" });
    await repo.commit("initial");
  }, 300_000);
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    await removeTempDirs();
  });

  it("says ready once /api/health answers 200, with the runner that runs the workflows", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "ballast-up-ok-"));
    dirs.push(dataDir);
    const port = await freePort();
    const up = runUp(baseEnv(dataDir), ["--source", repo.dir, "--port", String(port)]);
    try {
      await until(() => up.output().includes("ready:") || up.child.exitCode !== null, 150_000);
      expect(up.output()).toContain(`ready: http://127.0.0.1:${port} (health 200`);
      expect(up.output()).toMatch(/workflows: the app's embedded runner/);
      const health = await fetch(`http://127.0.0.1:${port}/api/health`);
      expect(health.status).toBe(200);
    } finally {
      up.child.kill("SIGTERM");
      await up.exited;
    }
  }, 180_000);

  it("exits non-zero naming the part that is down", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "ballast-up-down-"));
    dirs.push(dataDir);
    const port = await freePort();
    const closed = await freePort(); // nothing listens there
    const up = runUp(
      baseEnv(dataDir, {
        REDIS_REQUIRED: "true",
        UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${closed}`,
        UPSTASH_REDIS_REST_TOKEN: "up-test-token-000000000001",
      }),
      ["--source", repo.dir, "--port", String(port)],
    );
    const code = await up.exited;
    expect(code).not.toBe(0);
    expect(up.output()).toMatch(/not ready: \/api\/health answered 503/);
    expect(up.output()).toMatch(/- redis: down/);
    expect(up.output()).not.toContain("ready: http");
    expect(up.output()).not.toContain("up-test-token-000000000001");
  }, 180_000);
});
