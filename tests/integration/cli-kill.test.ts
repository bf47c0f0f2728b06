import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { sources, syncRuns } from "../../db/schema";
import { describeResult, runCli, startCli } from "../support/cli";
import { createTestRepo, makeTempDir, removeTempDirs } from "../support/git-repo";
import { freshFullSyncSnapshot, snapshotIndex } from "../support/index-snapshot";
import { createTestRuntime } from "../support/runtime";

/**
 * A CLI sync killed with SIGKILL mid-run leaves its run `running` with a fresh heartbeat. The
 * run records its owner (this machine and the CLI's pid), so the next sync sees the owner is
 * gone, frees the source at once (not after the stale-heartbeat timeout), and completes; the
 * index then equals a clean sync's.
 */
describe("a CLI sync killed mid-run", () => {
  afterAll(async () => {
    await removeTempDirs();
  });

  it("is taken over at once by the next sync, which leaves the index exact", async () => {
    const repo = await createTestRepo();
    const files: Record<string, string> = {};
    for (let i = 0; i < 400; i++)
      files[`src/module-${String(i).padStart(3, "0")}.ts`] =
        `// Module ${i}\nexport function handler${i}(input: string): string {\n  return input.repeat(${(i % 7) + 1}) + "-${i}";\n}\n`;
    await repo.writeMany(files);
    await repo.commit("initial");
    const dataDir = await makeTempDir("ballast-cli-kill-");
    // Small batches: the kill lands between batch transactions, with some already written.
    const env = { SYNC_BATCH_SIZE: "5" };
    const added = await runCli(["sources", "add", repo.dir, "--name", "killed"], {
      dataDir,
      env,
    });
    expect(added.code, describeResult(added)).toBe(0);

    const first = startCli(["sync", "killed"], { dataDir, env });
    await first.waitForStderr(/indexing: [1-9]\d*\/400 documents/);
    first.child.kill("SIGKILL");
    const killed = await first.done;
    expect(killed.signal).toBe("SIGKILL");

    const started = Date.now();
    const rerun = await runCli(["sync", "killed"], { dataDir, env });
    expect(rerun.code, describeResult(rerun)).toBe(0);
    expect(rerun.stderr).not.toContain("waiting for it to end");
    // Far below the 10-minute stale-heartbeat rule it would otherwise wait for.
    expect(Date.now() - started).toBeLessThan(240_000);

    const rt = await createTestRuntime({
      BALLAST_DATA_DIR: dataDir,
      PGLITE_DIR: path.join(dataDir, "pglite"),
    });
    try {
      const [source] = await rt.db.select().from(sources).where(eq(sources.name, "killed"));
      const runs = await rt.db
        .select()
        .from(syncRuns)
        .where(eq(syncRuns.sourceId, source?.id ?? ""))
        .orderBy(syncRuns.queuedAt);
      expect(runs.map((r) => r.status)).toEqual(["failed", "succeeded"]);
      expect(runs[0]?.error).toMatch(/the process running it \(.+:\d+\) is gone/);
      expect(runs[0]?.owner).toMatch(new RegExp(`:${first.pid}$`));
      const clean = await freshFullSyncSnapshot(rt, repo.dir);
      const after = await snapshotIndex(rt.db, source?.id ?? "");
      expect(after.documents).toHaveLength(400);
      expect(after).toEqual(clean);
    } finally {
      await rt.close();
    }
  }, 480_000);
});
