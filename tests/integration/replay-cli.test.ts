/**
 * The release gate as an operator runs it, with the real `ballast` CLI in child processes:
 * record a day on one machine (its own data directory), export a bundle to a file, import it
 * on a fresh machine (another data directory, a new database), replay it there — unchanged
 * code passes a 0.95 gate (exit 0); a chunk size change fails it (exit 1) naming documents.
 */
import { copyFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allOutput, describeResult, runCli } from "../support/cli";
import { createTestRepo, makeTempDir, removeTempDirs, type TestRepo } from "../support/git-repo";

function longDoc(title: string, paragraphs: number): string {
  const parts = [`# ${title}`, ""];
  for (let i = 0; i < paragraphs; i++)
    parts.push(
      `Paragraph ${i} of ${title}: the cursor advances only when a sync completes, and the index keeps the last synced state in step ${i}.`,
      "",
    );
  return parts.join("\n");
}

describe.sequential("ballast replay (CLI)", () => {
  let repo: TestRepo;
  let recorder: string;
  let fresh: string;
  let bundleFile: string;
  let archiveRef: string;

  beforeAll(async () => {
    repo = await createTestRepo();
    await repo.writeMany({
      "docs/guide.md": longDoc("Guide", 16),
      "src/a.ts": "export const a = 1;\n",
    });
    await repo.commit("initial");
    recorder = await makeTempDir("ballast-replay-cli-a-");
    fresh = await makeTempDir("ballast-replay-cli-b-");
    const add = await runCli(["sources", "add", repo.dir, "--name", "demo"], { dataDir: recorder });
    expect(add.code, describeResult(add)).toBe(0);
    const full = await runCli(["sync", "demo"], { dataDir: recorder });
    expect(full.code, describeResult(full)).toBe(0);
    await repo.write("docs/guide.md", longDoc("Guide", 18));
    await repo.commit("longer guide");
    const incremental = await runCli(["sync", "demo"], { dataDir: recorder });
    expect(incremental.code, describeResult(incremental)).toBe(0);
  }, 400_000);
  afterAll(removeTempDirs);

  it("exports the day to a file", async () => {
    const out = path.join(recorder, "day.bundle.json.gz");
    const since = new Date(Date.now() - 3600_000).toISOString();
    const until = new Date(Date.now() + 60_000).toISOString();
    const result = await runCli(
      ["replay", "export", "--since", since, "--until", until, "--out", out],
      { dataDir: recorder },
    );
    expect(result.code, describeResult(result)).toBe(0);
    expect(result.stderr).toMatch(/2 run\(s\)/);
    // "Another machine": the file is copied into a fresh directory.
    bundleFile = path.join(fresh, "copied.bundle.json.gz");
    await copyFile(out, bundleFile);
  }, 200_000);

  it("imports it on a fresh machine and replays it at 100 %: the gate passes (exit 0)", async () => {
    const imported = await runCli(["replay", "import", "--bundle", bundleFile], { dataDir: fresh });
    expect(imported.code, describeResult(imported)).toBe(0);
    archiveRef = imported.stdout.trim();
    expect(archiveRef).toMatch(/^archive:replay\/bundles\//);
    const run = await runCli(
      [
        "replay",
        "run",
        "--bundle",
        archiveRef,
        "--min-pass-rate",
        "0.95",
        "--latency-floor-ms",
        "60000",
      ],
      { dataDir: fresh },
    );
    expect(run.code, describeResult(run)).toBe(0);
    expect(run.stdout).toContain("# Replay scorecard — PASS");
    expect(run.stdout).toMatch(/pass rate \(pass \+ tolerated drift\) \| 100\.0 %/);
    expect(run.stdout).toContain("## Sign-off");
  }, 300_000);

  it("fails the gate (exit 1) with a chunk size change, naming the document", async () => {
    const run = await runCli(
      ["replay", "run", "--bundle", bundleFile, "--min-pass-rate", "0.95", "--json"],
      { dataDir: fresh, env: { CHUNK_SIZE: "1200" } },
    );
    expect(run.code, describeResult(run)).toBe(1);
    const card = JSON.parse(run.stdout) as {
      gate: { passed: boolean };
      criticalFailures: { documents: string[]; reasons: string[] }[];
      bundle: { configHash: { changed: boolean } };
    };
    expect(card.gate.passed).toBe(false);
    expect(card.bundle.configHash.changed).toBe(true);
    expect(card.criticalFailures.flatMap((f) => f.documents)).toContain("docs/guide.md");
    expect(card.criticalFailures.flatMap((f) => f.documents)).not.toContain("src/a.ts");
    expect(run.stderr).toMatch(/FAILED: pass rate/);
  }, 300_000);

  it("lists the scorecards and signs one off", async () => {
    const list = await runCli(["replay", "list", "--json"], { dataDir: fresh });
    expect(list.code, describeResult(list)).toBe(0);
    const reports = JSON.parse(list.stdout) as { id: string; gatePassed: boolean }[];
    expect(reports.map((r) => r.gatePassed).sort()).toEqual([false, true]);
    const passed = reports.find((r) => r.gatePassed);
    const signed = await runCli(
      ["replay", "sign-off", passed?.id ?? "", "--by", "release-captain", "--decision", "ship"],
      { dataDir: fresh },
    );
    expect(signed.code, describeResult(signed)).toBe(0);
    expect(signed.stdout).toMatch(/\| reviewed by \| release-captain \|/);
    expect(signed.stdout).toMatch(/\| decision \| ship \|/);
  }, 200_000);

  it("refuses bad input with a message and exit 1", async () => {
    const missing = await runCli(["replay", "run", "--bundle", path.join(fresh, "nope.gz")], {
      dataDir: fresh,
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read the bundle file nope\.gz/);
    expect(allOutput(missing)).not.toContain(fresh);
    const rate = await runCli(["replay", "run", "--bundle", bundleFile, "--min-pass-rate", "1.5"], {
      dataDir: fresh,
    });
    expect(rate.code).toBe(1);
    expect(rate.stderr).toMatch(/--min-pass-rate must be a number from 0 to 1/);
    const dates = await runCli(["replay", "export", "--since", "yesterday", "--until", "now"], {
      dataDir: fresh,
    });
    expect(dates.code).toBe(1);
    expect(dates.stderr).toMatch(/--since must be a date/);
    const notBundle = await runCli(
      ["replay", "import", "--bundle", path.join(repo.dir, "src/a.ts")],
      {
        dataDir: fresh,
      },
    );
    expect(notBundle.code).toBe(1);
    expect(notBundle.stderr).toMatch(/not a replay bundle: not gzip data/);
  }, 300_000);
});
