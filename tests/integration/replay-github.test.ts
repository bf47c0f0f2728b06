import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ledgerEntries } from "../../db/schema";
import { addSource, type SourceRecord } from "../../lib/pipeline/source-records";
import {
  decodeBundle,
  encodeBundle,
  exportBundle,
  importBundle,
  loadBundle,
  type ReplayBundle,
} from "../../lib/replay/bundle";
import { gitBlobId } from "../../lib/replay/github";
import { runReplay } from "../../lib/replay/runner";
import { buildScorecard } from "../../lib/replay/scorecard";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { FakeGitHub } from "../support/fake-github";
import { createTestRepo, removeTempDirs, type TestRepo } from "../support/git-repo";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

/**
 * A GitHub source's traffic replays offline: its runs are bundled with the GitHub API's
 * answers (trees, compare) and the blobs, and replayed on a fresh runtime after the GitHub
 * server is gone, through the same GitHub reader, at 100 % with exact index digests.
 */

function doc(title: string, paragraphs: number): string {
  const parts = [`# ${title}`, ""];
  for (let i = 0; i < paragraphs; i++)
    parts.push(`Section ${i} of ${title}: how the index is rebuilt after push ${i}.`, "");
  return parts.join("\n");
}

describe("replay of a github source", () => {
  let rt: TestRuntime;
  let repo: TestRepo;
  let github: FakeGitHub;
  let source: SourceRecord;
  let bundle: ReplayBundle;
  let planted: string;
  const since = new Date(Date.now() - 3600_000);

  beforeAll(async () => {
    repo = await createTestRepo();
    github = await FakeGitHub.start({ repos: { "octo/replayed": repo.dir } });
    // The token is a configured secret; a file of the repository carries it.
    planted = github.token;
    await repo.writeMany({
      "docs/guide.md": doc("Guide", 30),
      "docs/ops.md": doc("Operations", 8),
      "config/leaked.md": `# Leaked\n\nSomeone committed the token ${planted} here.\n`,
      "src/app.ts": "export const app = 1;\n",
      "assets/logo.png": Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]),
    });
    await repo.commit("initial");
    rt = await createTestRuntime({
      GITHUB_API_URL: github.url,
      GITHUB_TOKEN: github.token,
      SYNC_BATCH_SIZE: "3",
    });
    source = await addSource(rt.db, { kind: "github", location: "octo/replayed", name: "octo" });
    const first = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
    expect(first.status, first.error ?? "").toBe("succeeded");
    await repo.write("docs/ops.md", doc("Operations", 12));
    await repo.write("src/new.ts", "export const added = 2;\n");
    await repo.commit("edit ops, add new");
    const push = await syncSourceLocally(rt.deps, {
      sourceId: source.id,
      mode: "incremental",
      trigger: "webhook",
      correlationId: "github:delivery-7",
    });
    expect(push.mode).toBe("incremental");
    await repo.remove("src/app.ts");
    await repo.rename("docs/guide.md", "docs/handbook.md");
    await repo.commit("remove and rename");
    const again = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "incremental" });
    expect(again.status, again.error ?? "").toBe("succeeded");
    bundle = await exportBundle(rt, { since, until: new Date(Date.now() + 60_000) });
  }, 180_000);
  afterAll(async () => {
    await rt?.close();
    await github?.close();
    await removeTempDirs();
  });

  it("bundles the API's answers and each blob once, gzipped, checked against its id", async () => {
    expect(bundle.runs).toHaveLength(3);
    expect(bundle.skippedRuns).toEqual([]);
    const state = bundle.repositories.find((r) => r.sourceId === source.id);
    expect(state?.reason).toBeUndefined();
    expect(state?.commits).toHaveLength(3);
    expect(state?.gitBundle).toBeNull();
    const recorded = state?.github;
    expect(recorded?.repository).toBe("octo/replayed");
    const keys = Object.keys(recorded?.responses ?? {});
    expect(keys.filter((k) => k.includes("/git/trees/")).length).toBeGreaterThanOrEqual(3);
    expect(keys.filter((k) => k.includes("/compare/")).length).toBeGreaterThanOrEqual(2);
    // Compare answers keep only what the reader uses: no patches, no commits or authors.
    const compare = recorded?.responses[keys.find((k) => k.includes("/compare/")) ?? ""];
    expect(JSON.stringify(compare)).not.toMatch(/patch|author|email|"commits"/);
    // Blobs: every version of every indexable file, once per sha; the image is filtered out.
    const blobs = Object.entries(recorded?.blobs ?? {});
    expect(blobs.length).toBe(6); // guide, ops ×2, leaked, app, new (the rename keeps its sha)
    for (const [sha, packed] of blobs) {
      const content = gunzipSync(Buffer.from(packed ?? "", "base64"));
      expect(gitBlobId(content)).toBe(sha);
    }
    // A blob edited inside the bundle is refused on import.
    const edited = structuredClone(bundle);
    const target = edited.repositories.find((r) => r.sourceId === source.id)?.github;
    const [firstSha] = Object.keys(target?.blobs ?? {});
    if (!target || !firstSha) throw new Error("no blob");
    target.blobs[firstSha] = gzipSync("tampered").toString("base64");
    await expect(decodeBundle(encodeBundle(edited))).rejects.toThrow(
      /GitHub state of source .* is damaged: blob .* does not hold the content its id names/,
    );
  });

  it("keeps the planted secret out of the ledger, while the blob carrying it is repository state", () => {
    const state = bundle.repositories.find((r) => r.sourceId === source.id)?.github;
    const contents = Object.values(state?.blobs ?? {}).map((p) =>
      gunzipSync(Buffer.from(p ?? "", "base64")).toString("utf8"),
    );
    expect(contents.some((c) => c.includes(planted))).toBe(true);
    const { repositories: _repositories, ...rest } = bundle;
    expect(JSON.stringify(rest)).not.toContain(planted);
    expect(gunzipSync(encodeBundle(bundle)).toString("utf8")).not.toContain(planted);
  });

  it("replays on a fresh runtime with the GitHub server gone: 100 %, digests exact, no request", async () => {
    const rows = await rt.db.select().from(ledgerEntries);
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(rows)).not.toContain(planted);

    const bytes = encodeBundle(bundle);
    const requestsBefore = github.requests.length;
    await github.close();
    const elsewhere = await createTestRuntime({ SYNC_BATCH_SIZE: "3" });
    try {
      const { key } = await importBundle(elsewhere.archive, bytes);
      const { bundle: imported } = await loadBundle(`archive:${key}`, elsewhere.archive);
      expect(imported).toEqual(bundle);
      const result = await runReplay(imported, {
        config: elsewhere.config,
        tolerance: { floorMs: 60_000 },
      });
      expect(result.skipped).toEqual([]);
      expect(result.events).toHaveLength(3);
      for (const e of result.events) {
        expect(e.diff.verdict, e.diff.reasons.join("; ")).toBe("pass");
        expect(e.diff.reasons.join(" ")).not.toMatch(/digest/);
      }
      expect(result.events.map((e) => e.trigger)).toEqual(["cli", "webhook", "cli"]);
      const card = buildScorecard(result, { minPassRate: 0.95, secrets: [planted] });
      expect(card.passRate).toBe(1);
      expect(card.gate.passed).toBe(true);
      // The sandbox's ledger and logs never hold the planted secret either.
      expect(card.constraints.secretsFound).toBe(0);
      expect(result.sandboxText).not.toContain(planted);
      expect(github.requests.length).toBe(requestsBefore);
    } finally {
      await elsewhere.close();
    }
  }, 180_000);

  it("names a request the bundle cannot answer instead of reaching the network", async () => {
    const partial = structuredClone(bundle);
    const state = partial.repositories.find((r) => r.sourceId === source.id)?.github;
    if (!state) throw new Error("no state");
    for (const key of Object.keys(state.blobs)) delete state.blobs[key];
    const result = await runReplay(partial, { config: rt.config, tolerance: { floorMs: 60_000 } });
    const critical = result.events.filter((e) => e.diff.verdict === "critical");
    expect(critical.length).toBeGreaterThan(0);
    expect(critical.flatMap((e) => e.diff.reasons).join(" ")).toMatch(
      /no recorded answer to \d+ GitHub request\(s\), e\.g\. GET \/repos\/octo\/replayed\/git\/blobs\/[0-9a-f]{40}/,
    );
  }, 180_000);
});
