import { sql } from "drizzle-orm";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { rowsOf } from "../../db/client";
import { searchChunks } from "../../lib/index/search";
import { completeRun } from "../../lib/pipeline/complete-run";
import { planRun } from "../../lib/pipeline/plan";
import { processBatch } from "../../lib/pipeline/process-batch";
import { createRun, describeRun, getRun } from "../../lib/pipeline/runs";
import { addSource, getSource } from "../../lib/pipeline/source-records";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { createTestRepo, removeTempDirs, type TestRepo } from "../support/git-repo";
import { freshFullSyncSnapshot, snapshotIndex } from "../support/index-snapshot";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

function tsModule(name: string, functions: number, variant = ""): string {
  const parts = [`// module ${name}`, `import { readFileSync } from "node:fs";`, ""];
  for (let i = 0; i < functions; i++) {
    parts.push(
      `/** Parses section ${i} of ${name}. */`,
      `export function ${name}Part${i}(input: string): number {`,
      `  const value = input.length * ${i + 1};${i === 3 ? variant : ""}`,
      `  if (value > ${i * 10}) return value - ${i};`,
      `  return readFileSync(input, "utf8").length + value;`,
      "}",
      "",
    );
  }
  return parts.join("\n");
}

const README = `# Demo project

An example repository for Ballast tests.

## Install

Run the installer, then configure the webhook secret.

## Usage

Search the index for webhook signature verification.
`;

async function seedRepo(repo: TestRepo): Promise<void> {
  await repo.writeMany({
    "README.md": README,
    "src/parser.ts": tsModule("parser", 12),
    "src/config.ts": tsModule("config", 6),
    "src/webhooks.ts":
      "export function verifySignature(secret: string, body: string) {\n  return hmac(secret, body);\n}\n",
    "docs/guide.md":
      "# Guide\n\n## Setup\n\nSteps to set up.\n\n## Deploy\n\nSteps to deploy to production.\n",
    "notes.txt": "plain text notes\n\nsecond paragraph about JSON config parsing\n",
    "empty.txt": "",
    "image.png": Buffer.from([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52,
    ]),
    "fixtures/data.txt": Buffer.concat([Buffer.from("header"), Buffer.alloc(64, 0)]),
    "latin1.txt": Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x6e, 0x6f, 0x74, 0x65, 0x0a]), // "café note" in Latin-1
    "node_modules/lib/index.js": "module.exports = 1;\n",
    "package-lock.json": '{"lockfileVersion": 3}\n',
    "big/huge.txt": "x".repeat(300_000),
  });
  await repo.commit("initial");
}

describe("sync pipeline on a real git repository", () => {
  let rt: TestRuntime;
  let repo: TestRepo;

  beforeEach(async () => {
    rt = await createTestRuntime({
      MAX_FILE_BYTES: "200000",
      CHUNK_SIZE: "400",
      CHUNK_OVERLAP: "40",
    });
    repo = await createTestRepo();
    await seedRepo(repo);
  });
  afterEach(async () => {
    await rt.close();
  });
  afterAll(removeTempDirs);

  it("indexes a repository in full, counting every skipped file with its reason", async () => {
    const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "demo" });
    const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "incremental" });
    expect(run.status).toBe("succeeded");
    expect(run.mode).toBe("full");
    expect(run.note).toContain("first sync");
    const view = await describeRun(rt.db, run);
    // image.png is excluded by extension; fixtures/data.txt by its content.
    expect(view.counts.skippedByReason).toMatchObject({
      empty: 1,
      binary: 1,
      "too-large": 1,
      "default-excluded": 3,
    });
    expect(view.counts.failed).toBe(0);
    expect(view.counts.processed).toBe(7);
    expect(view.counts.chunksEmbedded).toBeGreaterThan(7);
    expect(view.counts.chunksWritten).toBe(view.counts.chunksEmbedded + view.counts.chunksReused);

    const docs = rowsOf<{ path: string; lossy: boolean }>(
      await rt.db.execute(
        sql`select path, lossy from documents where source_id = ${source.id} order by path`,
      ),
    );
    expect(docs.map((d) => d.path)).toEqual([
      "README.md",
      "docs/guide.md",
      "latin1.txt",
      "notes.txt",
      "src/config.ts",
      "src/parser.ts",
      "src/webhooks.ts",
    ]);
    expect(docs.find((d) => d.path === "latin1.txt")?.lossy).toBe(true);
    const updated = await getSource(rt.db, source.id);
    expect(updated.cursorCommit).toBe(await repo.head());

    const hits = await searchChunks(rt.db, rt.embedder, {
      query: "verify webhook signature secret",
      k: 3,
    });
    expect(hits[0]?.path).toBe("src/webhooks.ts");
    expect(hits[0]?.startLine).toBe(1);
    expect(hits[0]?.snippet).toContain("verifySignature");
  });

  it("re-syncs added, modified, renamed and removed files and ends equal to a fresh full sync", async () => {
    const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "demo" });
    await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });

    await repo.write("src/parser.ts", tsModule("parser", 12, " // tweaked"));
    await repo.write("src/added.ts", tsModule("added", 3));
    await repo.rename("docs/guide.md", "docs/handbook.md");
    await repo.remove("notes.txt");
    await repo.commit("edit");

    const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "incremental" });
    expect(run.status).toBe("succeeded");
    expect(run.mode).toBe("incremental");
    const view = await describeRun(rt.db, run);
    expect(view.counts.deleted).toBe(2); // notes.txt and the old path of the renamed guide
    expect(view.counts.processed).toBe(3); // parser.ts, added.ts, handbook.md
    // The rename re-used the guide's vectors; the edit re-embedded only the changed chunk.
    expect(view.counts.chunksReused).toBeGreaterThan(0);
    const parser = rowsOf<{ chunks_embedded: number; chunks_written: number }>(
      await rt.db.execute(
        sql`select chunks_embedded, chunks_written from sync_run_items where run_id = ${run.id} and path = 'src/parser.ts'`,
      ),
    )[0];
    expect(parser?.chunks_embedded).toBe(1);
    expect(parser?.chunks_written).toBe(1);

    expect(await snapshotIndex(rt.db, source.id)).toEqual(
      await freshFullSyncSnapshot(rt, repo.dir),
    );
  });

  it("falls back to a full sync when a force-push removed the synced commit, and stays exact", async () => {
    const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "demo" });
    const base = await repo.head();
    await repo.write("src/feature.ts", tsModule("feature", 4));
    await repo.commit("feature");
    await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "incremental" });

    await repo.resetHard(base);
    await repo.write("src/other.ts", tsModule("other", 2));
    await repo.commit("rewritten history");
    await repo.expireAndGc();

    const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "incremental" });
    expect(run.status).toBe("succeeded");
    expect(run.mode).toBe("full");
    expect(run.note).toMatch(/gone .*force-push/);
    expect(await snapshotIndex(rt.db, source.id)).toEqual(
      await freshFullSyncSnapshot(rt, repo.dir),
    );
    const paths = (await snapshotIndex(rt.db, source.id)).documents.map((d) => d.split(" ")[0]);
    expect(paths).not.toContain("src/feature.ts");
    expect(paths).toContain("src/other.ts");
  });

  it("skips unchanged documents without embedding, and a second sync of the same commit does nothing", async () => {
    const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "demo" });
    await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
    const again = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
    const view = await describeRun(rt.db, again);
    expect(view.counts.chunksEmbedded).toBe(0);
    expect(view.counts.processed).toBe(0);
    expect(view.counts.skippedByReason.unchanged).toBe(7);
    const incremental = await syncSourceLocally(rt.deps, {
      sourceId: source.id,
      mode: "incremental",
    });
    expect(incremental.planned).toBe(0);
    expect(incremental.status).toBe("succeeded");
  });

  it("re-embeds everything when the chunking configuration changes, and nothing else", async () => {
    const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "demo" });
    await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
    const other = await createTestRuntime(
      { MAX_FILE_BYTES: "200000", CHUNK_SIZE: "800", CHUNK_OVERLAP: "40" },
      { database: rt.database },
    );
    try {
      const run = await syncSourceLocally(other.deps, { sourceId: source.id, mode: "incremental" });
      expect(run.mode).toBe("incremental");
      const view = await describeRun(rt.db, run);
      expect(view.counts.processed).toBe(7);
      const stale = rowsOf<{ n: number }>(
        await rt.db.execute(
          sql`select count(*)::int as n from documents where source_id = ${source.id} and config_hash <> ${run.configHash}`,
        ),
      );
      expect(stale[0]?.n).toBe(0);
      const again = await syncSourceLocally(other.deps, {
        sourceId: source.id,
        mode: "incremental",
      });
      expect(again.planned).toBe(0);
    } finally {
      await other.redis.close();
    }
  });

  it("recovers from a process killed mid-sync: the next sync takes over and the index is exact", async () => {
    const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "demo" });
    const run = await createRun(rt.db, {
      sourceId: source.id,
      trigger: "cli",
      mode: "full",
      dedupeKey: "killed",
    });
    const plan = await planRun({ ...rt.deps, batchSize: 2 }, run.id);
    expect(plan.state).toBe("planned");
    await processBatch(rt.deps, run.id, 0); // …then the process dies
    await rt.db.execute(
      sql`update sync_runs set heartbeat_at = now() - interval '1 hour' where id = ${run.id}`,
    );

    const next = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "incremental" });
    expect(next.status).toBe("succeeded");
    const killed = await getRun(rt.db, run.id);
    expect(killed.status).toBe("failed");
    expect(killed.error).toContain("abandoned");
    expect(await snapshotIndex(rt.db, source.id)).toEqual(
      await freshFullSyncSnapshot(rt, repo.dir),
    );
  });

  it("records files that vanished between plan and fetch, and the next sync makes the index exact", async () => {
    const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "demo" });
    const base = await repo.head();
    await repo.write("src/doomed.ts", tsModule("doomed", 3));
    await repo.commit("doomed");
    const run = await createRun(rt.db, {
      sourceId: source.id,
      trigger: "cli",
      mode: "full",
      dedupeKey: "vanish",
    });
    expect((await planRun(rt.deps, run.id)).state).toBe("planned");
    // History is rewritten and collected after the plan: the planned blob no longer exists.
    await repo.resetHard(base);
    await repo.expireAndGc();
    for (let batch = 0; batch < (await getRun(rt.db, run.id)).batchesTotal; batch++)
      await processBatch(rt.deps, run.id, batch);
    const item = rowsOf<{ status: string; reason: string }>(
      await rt.db.execute(
        sql`select status, reason from sync_run_items where run_id = ${run.id} and path = 'src/doomed.ts'`,
      ),
    )[0];
    expect(item).toEqual({ status: "skipped", reason: "vanished" });
    const ended = await completeRun(rt.deps, run.id);
    expect(ended.status).toBe("succeeded");
    expect(ended.skippedByReason.vanished).toBe(1);

    const next = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "incremental" });
    expect(next.status).toBe("succeeded");
    expect(await snapshotIndex(rt.db, source.id)).toEqual(
      await freshFullSyncSnapshot(rt, repo.dir),
    );
  });

  it("does not run a second sync of the same source while one is running", async () => {
    const source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "demo" });
    const run = await createRun(rt.db, {
      sourceId: source.id,
      trigger: "cli",
      mode: "full",
      dedupeKey: "first",
    });
    await planRun(rt.deps, run.id);
    const waits: number[] = [];
    const second = await syncSourceLocally(
      { ...rt.deps, syncTiming: { busyPollMs: 1000, busyWaitMs: 3000 } },
      {
        sourceId: source.id,
        mode: "full",
        sleep: async (ms) => {
          waits.push(ms);
        },
      },
    );
    expect(waits).toEqual([1000, 1000, 1000]);
    expect(second.status).toBe("failed");
    expect(second.error).toMatch(new RegExp(`busy with run ${run.id}`));
    expect((await getRun(rt.db, run.id)).status).toBe("running");
  });

  it("handles an emptied repository and a deleted branch with clear outcomes", async () => {
    const source = await addSource(rt.db, {
      kind: "git",
      location: repo.dir,
      name: "demo",
      branch: "topic",
    });
    await repo.checkoutNew("topic");
    await repo.write("topic.md", "# Topic\n\nbranch content\n");
    await repo.commit("topic");
    const first = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
    expect(first.status).toBe("succeeded");
    await repo.checkout("main");
    await repo.deleteBranch("topic");
    const gone = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "incremental" });
    expect(gone.status).toBe("failed");
    expect(gone.error).toMatch(/branch topic does not exist/);
    // The index keeps the last synced state, and the cursor did not move.
    expect((await snapshotIndex(rt.db, source.id)).documents.length).toBe(8);

    const empty = await createTestRepo();
    const emptySource = await addSource(rt.db, { kind: "git", location: empty.dir, name: "empty" });
    const emptyRun = await syncSourceLocally(rt.deps, { sourceId: emptySource.id, mode: "full" });
    expect(emptyRun.status).toBe("succeeded");
    expect(emptyRun.note).toContain("no commits");
    expect(emptyRun.planned).toBe(0);
  });
});
