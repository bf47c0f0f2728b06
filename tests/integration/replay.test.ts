import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as replayGet } from "../../app/api/admin/replays/[id]/route";
import { GET as replaysGet } from "../../app/api/admin/replays/route";
import { ledgerEntries } from "../../db/schema";
import { listAlerts } from "../../lib/alerts/records";
import { createApiKey } from "../../lib/auth/api-keys";
import { type Config, loadConfig } from "../../lib/config";
import { installPeerAddressStamp, PEER_HEADER } from "../../lib/http/client-address";
import { addSource, type SourceRecord } from "../../lib/pipeline/source-records";
import {
  decodeBundle,
  encodeBundle,
  exportBundle,
  importBundle,
  loadBundle,
  type ReplayBundle,
} from "../../lib/replay/bundle";
import { type ReplayResult, runReplay } from "../../lib/replay/runner";
import { buildScorecard, renderMarkdown } from "../../lib/replay/scorecard";
import { setRuntime } from "../../lib/runtime";
import { workflows } from "../../lib/workflows/index";
import { runInline } from "../../lib/workflows/inline";
import { replayWorkflow } from "../../lib/workflows/replay";
import { scheduleSyncsWorkflow } from "../../lib/workflows/schedule-syncs";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { createTestRepo, removeTempDirs, type TestRepo } from "../support/git-repo";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

const TOKEN = "ghp_plantedReplayToken00000000000000000001";

/** A Markdown section long enough that 1600- and 1200-character chunks cut it differently. */
function longDoc(title: string, paragraphs: number): string {
  const parts = [`# ${title}`, ""];
  for (let i = 0; i < paragraphs; i++)
    parts.push(
      `Paragraph ${i} of ${title} explains how the webhook secret is rotated, how the index is rebuilt and why the cursor only advances when a sync completes without errors in step ${i}.`,
      "",
    );
  return parts.join("\n");
}

const since = new Date(Date.now() - 3600_000);

/** Replays with a configuration (the recording one, or a changed one) and scores at 0.95. */
async function replay(bundle: ReplayBundle, config: Config): Promise<ReplayResult> {
  return runReplay(bundle, { config, tolerance: { floorMs: 60_000 } });
}

describe("replay: bundles, runner, diff and scorecard", () => {
  let rt: TestRuntime;
  let repo: TestRepo;
  let source: SourceRecord;
  let other: SourceRecord;
  let bundle: ReplayBundle;
  let baseline: ReplayResult;

  beforeAll(async () => {
    rt = await createTestRuntime({ GITHUB_TOKEN: TOKEN, SYNC_BATCH_SIZE: "4" });
    repo = await createTestRepo();
    await repo.writeMany({
      "docs/guide.md": longDoc("Guide", 14),
      "docs/ops.md": longDoc("Operations", 10),
      "src/small.ts": "export const small = 1;\n",
      "README.md": "# Demo\n\nShort.\n",
    });
    await repo.commit("initial");
    source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "replay-demo" });
    const otherRepo = await createTestRepo();
    await otherRepo.writeMany({ "notes.md": "# Notes\n\nAnother source.\n" });
    await otherRepo.commit("initial");
    other = await addSource(rt.db, { kind: "git", location: otherRepo.dir, name: "replay-other" });

    // A recorded day: a first full sync of each source, two pushes, a scheduled reconciliation.
    const first = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
    expect(first.status, first.error ?? "").toBe("succeeded");
    await syncSourceLocally(rt.deps, { sourceId: other.id, mode: "full" });
    await repo.write("docs/ops.md", longDoc("Operations", 12));
    await repo.write("src/new.ts", "export const added = 2;\n");
    await repo.commit("edit ops, add new");
    await syncSourceLocally(rt.deps, {
      sourceId: source.id,
      mode: "incremental",
      trigger: "webhook",
      correlationId: "github:delivery-1",
    });
    await repo.remove("src/small.ts");
    await repo.rename("README.md", "docs/README.md");
    await repo.commit("remove and rename");
    const tick = await runInline(
      scheduleSyncsWorkflow,
      { name: "workflow/schedule-syncs.requested", data: { at: new Date().toISOString() } },
      { deps: async () => rt.deps, log: rt.log, workflows },
    );
    expect(tick.ok).toBe(true);
    bundle = await exportBundle(rt, { since, until: new Date(Date.now() + 60_000) });
    baseline = await replay(bundle, rt.config);
  }, 240_000);
  afterAll(async () => {
    setRuntime(undefined);
    await rt.close();
    await removeTempDirs();
  });

  it("exports every finished run of the window with its ledger entries and repository state", () => {
    // 2 full syncs, 1 push, 2 scheduled (one per source).
    expect(bundle.runs).toHaveLength(5);
    expect(bundle.runs.map((r) => r.trigger).sort()).toEqual([
      "cli",
      "cli",
      "schedule",
      "schedule",
      "webhook",
    ]);
    expect(bundle.entries.filter((e) => e.kind === "run")).toHaveLength(5);
    expect(bundle.entries.some((e) => e.kind === "event" && e.name === "cron.tick")).toBe(true);
    const repoState = bundle.repositories.find((r) => r.sourceId === source.id);
    expect(repoState?.commits).toHaveLength(3);
    expect(repoState?.missing).toEqual([]);
    expect(bundle.config.settings).toMatchObject({ chunking: { size: 1600, overlap: 160 } });
  });

  it("replays unchanged code at 100 % and passes a 0.95 gate", () => {
    expect(baseline.skipped).toEqual([]);
    expect(baseline.events).toHaveLength(5);
    for (const e of baseline.events)
      expect(e.diff.verdict, `${e.sourceName}: ${e.diff.reasons.join("; ")}`).not.toBe("critical");
    const card = buildScorecard(baseline, { minPassRate: 0.95, secrets: rt.config.secrets });
    expect(card.passRate).toBe(1);
    expect(card.gate.passed).toBe(true);
    expect(card.constraints.secretsFound).toBe(0);
    expect(card.constraints.changesOutsideReplayedSources).toEqual([]);
    const scheduled = card.perEvent.filter((e) => e.event.startsWith("cron.tick"));
    expect(scheduled).toHaveLength(2);
    expect(renderMarkdown(card)).toMatch(/# Replay scorecard — PASS[\s\S]*## Sign-off/);
  });

  it("catches a chunk size change (1600 → 1200) as critical drift naming the documents, failing the gate", async () => {
    const changed = loadConfig({
      BALLAST_ENV: "test",
      BALLAST_DATA_DIR: rt.dataDir,
      PGLITE_DIR: "memory://",
      SYNC_BATCH_SIZE: "4",
      CHUNK_SIZE: "1200",
    });
    const result = await replay(bundle, changed);
    const card = buildScorecard(result, { minPassRate: 0.95, secrets: rt.config.secrets });
    expect(card.bundle.configHash.changed).toBe(true);
    expect(card.gate.passed).toBe(false);
    expect(card.passRate).toBeLessThan(0.95);
    const first = card.criticalFailures.find((f) => f.source === "replay-demo");
    expect(first?.reasons.join(" ")).toMatch(/index digest differs/);
    expect(first?.reasons.join(" ")).toMatch(/chunked differently/);
    expect(first?.documents).toEqual(["docs/guide.md", "docs/ops.md"]);
    // The short documents chunk the same at both sizes: not named.
    expect(card.criticalFailures.flatMap((f) => f.documents)).not.toContain("src/small.ts");
    expect(renderMarkdown(card)).toContain("`docs/guide.md`");
    // The other source's short file is the same at both sizes: its runs pass.
    expect(
      card.perEvent.filter((e) => e.source === "replay-other").map((e) => e.verdict),
    ).not.toContain("critical");
  });

  it("never lets a planted secret reach the bundle", async () => {
    await rt.db.insert(ledgerEntries).values({
      key: "event:planted",
      kind: "event",
      name: "admin.request",
      correlationId: "admin:planted",
      data: { note: `token ${TOKEN}`, header: "Bearer abcdefghijklmnopqrstuvwxyz012345" },
    });
    const planted = await exportBundle(rt, { since, until: new Date(Date.now() + 60_000) });
    const bytes = encodeBundle(planted);
    const text = gunzipSync(bytes).toString("utf8");
    expect(text).toContain("admin:planted");
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain("abcdefghijklmnopqrstuvwxyz012345");
  });

  it("replays identically after export → import in a fresh directory and database", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "ballast-replay-elsewhere-"));
    const file = path.join(dir, "day.bundle.json.gz");
    await writeFile(file, encodeBundle(bundle));
    const elsewhere = await createTestRuntime({ SYNC_BATCH_SIZE: "4" });
    try {
      const { bundle: fromFile } = await loadBundle(file, elsewhere.archive);
      const { key } = await importBundle(elsewhere.archive, encodeBundle(fromFile));
      const { bundle: imported } = await loadBundle(`archive:${key}`, elsewhere.archive);
      expect(imported).toEqual(bundle);
      const again = await replay(imported, elsewhere.config);
      const shape = (r: ReplayResult) =>
        r.events.map((e) => ({
          run: e.runId,
          verdict: e.diff.verdict === "critical",
          docs: e.diff.documents,
        }));
      expect(shape(again)).toEqual(shape(baseline));
      expect(buildScorecard(again, { minPassRate: 0.95, secrets: [] }).passRate).toBe(1);
    } finally {
      await elsewhere.close();
    }
  });

  it("refuses damaged or foreign bundles with a clear error", async () => {
    const bytes = encodeBundle(bundle);
    await expect(decodeBundle(Buffer.from("not gzip"))).rejects.toThrow(/not gzip data/);
    const edited = JSON.parse(gunzipSync(bytes).toString("utf8"));
    edited.bundle.runs[0].trigger = "admin";
    const { gzipSync } = await import("node:zlib");
    await expect(decodeBundle(gzipSync(JSON.stringify(edited)))).rejects.toThrow(
      /checksum does not match/,
    );
    await expect(
      decodeBundle(gzipSync(JSON.stringify({ sha256: "x", bundle: 1 }))),
    ).rejects.toThrow(/checksum/);
  });

  it("the nightly replay workflow stores the day's scorecard and raises an alert record below the gate", async () => {
    const nightly = async (at: Date, config: Config) => {
      const outcome = await runInline(
        replayWorkflow,
        { name: "workflow/replay.requested", data: { at: at.toISOString() } },
        { deps: async () => ({ ...rt.deps, config }), log: rt.log, workflows: [] },
      );
      if (!outcome.ok) throw outcome.error;
      return outcome.result as {
        reportId: string;
        gatePassed: boolean;
        alert: string;
        events: number;
      };
    };
    const t1 = new Date(Date.now() + 60_000);
    const passing = await nightly(t1, rt.config);
    expect(passing.events).toBe(5);
    expect(passing.gatePassed).toBe(true);
    expect(passing.alert).toBe("none");

    const changed = { ...rt.config, chunking: { size: 1200, overlap: 160 } };
    const t2 = new Date(t1.getTime() + 60_000);
    const failing = await nightly(t2, changed);
    expect(failing.gatePassed).toBe(false);
    expect(failing.alert).toBe("raised");
    const [alert] = await listAlerts(rt.db, { status: "firing" });
    expect(alert).toMatchObject({
      key: "replay.gate",
      rule: "replay.below-gate",
      severity: "critical",
    });
    expect(alert?.details).toMatchObject({ reportId: failing.reportId });
    // The same tick again (a retried or replayed run) reuses its report.
    expect((await nightly(t2, changed)).reportId).toBe(failing.reportId);

    const t3 = new Date(t2.getTime() + 60_000);
    expect((await nightly(t3, rt.config)).alert).toBe("resolved");
    expect(await listAlerts(rt.db, { status: "firing" })).toEqual([]);
  }, 300_000);

  it("lists scorecards at GET /api/admin/replays and shows one (viewer); refuses bad input", async () => {
    installPeerAddressStamp();
    setRuntime(rt);
    const { key } = await createApiKey(rt.db, {
      name: "replay-viewer",
      role: "viewer",
      createdBy: "t",
    });
    const get = (url: string, auth = true) =>
      new Request(`http://localhost${url}`, {
        headers: {
          [PEER_HEADER]: "192.0.2.3",
          ...(auth ? { authorization: `Bearer ${key}` } : {}),
        },
      });
    const list = await replaysGet(get("/api/admin/replays?limit=10"), {
      params: Promise.resolve({}),
    });
    expect(list.status).toBe(200);
    const { replays } = (await list.json()) as {
      replays: { id: string; gatePassed: boolean; trigger: string }[];
    };
    expect(replays.length).toBeGreaterThanOrEqual(3);
    expect(replays.filter((r) => r.trigger === "schedule").map((r) => r.gatePassed)).toContain(
      false,
    );
    const id = replays[0]?.id ?? "";
    const one = await replayGet(get(`/api/admin/replays/${id}`), {
      params: Promise.resolve({ id }),
    });
    expect(one.status).toBe(200);
    const body = (await one.json()) as { markdown: string; scorecard: { gate: unknown } };
    expect(body.markdown).toContain("## Sign-off");
    expect(body.scorecard.gate).toBeDefined();

    expect(
      (await replaysGet(get("/api/admin/replays", false), { params: Promise.resolve({}) })).status,
    ).toBe(401);
    const bad = await replaysGet(get("/api/admin/replays?limit=abc"), {
      params: Promise.resolve({}),
    });
    expect(bad.status).toBe(422);
    const badId = await replayGet(get("/api/admin/replays/1%27%20or%201=1"), {
      params: Promise.resolve({ id: "1' or 1=1" }),
    });
    expect(badId.status).toBe(422);
    expect(await badId.text()).not.toMatch(/select|stack|at \//i);
    const missing = await replayGet(get("/api/admin/replays/x"), {
      params: Promise.resolve({ id: "00000000-0000-4000-8000-000000000000" }),
    });
    expect(missing.status).toBe(404);
  });
});
