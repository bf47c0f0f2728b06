import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeRun } from "../../lib/pipeline/runs";
import { addSource, type SourceRecord } from "../../lib/pipeline/source-records";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { FakeGitHub } from "../support/fake-github";
import { createTestRepo, removeTempDirs, type TestRepo } from "../support/git-repo";
import { freshFullSyncSnapshot, snapshotIndex } from "../support/index-snapshot";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

/** A GitHub source end to end: trees, compare and blobs from a loopback GitHub backed by a real repository. */
describe("sync of a github source", () => {
  let rt: TestRuntime;
  let repo: TestRepo;
  let github: FakeGitHub;
  let source: SourceRecord;

  beforeAll(async () => {
    repo = await createTestRepo();
    await repo.writeMany({
      "README.md": "# Octo\n\nThe octo service.\n\n## Deploy\n\nDeploy with the release script.\n",
      "src/server.ts": "export function startServer(port: number) {\n  return listen(port);\n}\n",
      "src/routes.ts": "export const routes = ['/health', '/search'];\n",
      "assets/logo.png": Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]),
    });
    await repo.commit("initial");
    github = await FakeGitHub.start({ repos: { "octo/service": repo.dir } });
    rt = await createTestRuntime({ GITHUB_API_URL: github.url, GITHUB_TOKEN: github.token });
    source = await addSource(rt.db, { kind: "github", location: "octo/service", name: "octo" });
  });
  afterAll(async () => {
    await rt.close();
    await github.close();
    await removeTempDirs();
  });

  it("indexes in full through the trees and blobs APIs", async () => {
    const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "incremental" });
    expect(run.status).toBe("succeeded");
    expect(run.mode).toBe("full");
    const view = await describeRun(rt.db, run);
    expect(view.counts.processed).toBe(3);
    expect(view.counts.skippedByReason["default-excluded"]).toBe(1);
    expect(github.requestsTo("/git/trees/").length).toBeGreaterThan(0);
    expect(github.requestsTo("/git/blobs/").length).toBe(3);
  });

  it("re-syncs incrementally through the compare API and matches a fresh full sync", async () => {
    const blobsBefore = github.requestsTo("/git/blobs/").length;
    await repo.write("src/routes.ts", "export const routes = ['/health', '/search', '/admin'];\n");
    await repo.rename("README.md", "docs/README.md");
    await repo.write("src/new.ts", "export const added = true;\n");
    await repo.commit("change");
    const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "incremental" });
    expect(run.status).toBe("succeeded");
    expect(run.mode).toBe("incremental");
    expect(github.requestsTo("/compare/").length).toBeGreaterThan(0);
    // Only changed content is fetched: routes.ts, the renamed README and new.ts.
    expect(github.requestsTo("/git/blobs/").length - blobsBefore).toBe(3);
    const view = await describeRun(rt.db, run);
    expect(view.counts.deleted).toBe(1);
    expect(view.counts.chunksReused).toBeGreaterThan(0); // the renamed README kept its vectors

    // A fresh full sync of the same repository, read as a local git source, holds the same index.
    expect((await snapshotIndex(rt.db, source.id)).chunks).toEqual(
      (await freshFullSyncSnapshot(rt, repo.dir)).chunks,
    );
  });

  it("waits out a rate limit and carries on", async () => {
    await repo.write("src/late.ts", "export const late = 1;\n");
    await repo.commit("late");
    github.fail({ kind: "secondary-rate-limit", match: "/git/blobs/", retryAfterSeconds: 1 });
    const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "incremental" });
    expect(run.status).toBe("succeeded");
    expect(run.processed).toBe(1);
  });

  it("fails the run clearly for an unknown repository", async () => {
    const missing = await addSource(rt.db, {
      kind: "github",
      location: "octo/missing",
      name: "missing",
    });
    const run = await syncSourceLocally(rt.deps, { sourceId: missing.id, mode: "full" });
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/not found|octo\/missing/i);
  });
});
