import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { archiveDay } from "../../lib/retention/archive";
import { TRACE_DATASET } from "../../lib/retention/datasets";
import { randomSpanId } from "../../lib/traces/ids";
import { describeResult, runCli } from "../support/cli";
import { createTestRepo, removeTempDirs, type TestRepo } from "../support/git-repo";
import { createTestRuntime } from "../support/runtime";

/** `ballast traces`, `traces <run>`, `traces restore`, `cleanup run --dry-run`, `cleanup approve`: the real CLI. */
describe("ballast traces and ballast cleanup", () => {
  let dataDir: string;
  let repo: TestRepo;
  const DAY = "2026-01-15";

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "ballast-traces-cli-"));
    // An archived day in this data directory's database and archive folder.
    const rt = await createTestRuntime({
      PGLITE_DIR: path.join(dataDir, "pglite"),
      ARCHIVE_DIR: path.join(dataDir, "archive"),
    });
    for (let i = 0; i < 12; i++)
      rt.tracer.record({
        spanId: randomSpanId(),
        traceId: "2".repeat(32),
        parentSpanId: null,
        correlationId: "cli:old",
        kind: "step",
        name: "old-step",
        function: "sync-source",
        driver: "inline",
        runId: null,
        sourceId: null,
        eventId: null,
        attempt: 1,
        status: "ok",
        errorClass: null,
        errorMessage: null,
        startedAt: new Date(Date.parse(`${DAY}T10:00:00Z`) + i * 1000),
        endedAt: new Date(Date.parse(`${DAY}T10:00:00Z`) + i * 1000 + 3),
        durationMs: 3,
        input: null,
        output: null,
        attributes: {},
      });
    await rt.tracer.flush();
    await archiveDay(rt.db, rt.archive, TRACE_DATASET, DAY);
    await rt.close();
    repo = await createTestRepo();
    await repo.writeMany({ "README.md": "# R\n\nText.\n", "a.ts": "export const a = 1;\n" });
    await repo.commit("initial");
  });
  afterAll(async () => {
    await removeTempDirs();
    await rm(dataDir, { recursive: true, force: true });
  });

  it.sequential("lists a sync's envelopes, prints its timeline, filters and refuses bad filters", async () => {
    const sync = await runCli(["sync", repo.dir], { dataDir });
    expect(sync.code, describeResult(sync)).toBe(0);
    const runId =
      /run\s*│\s*([0-9a-f-]{36})/.exec(sync.stdout)?.[1] ??
      /([0-9a-f]{8}-[0-9a-f-]{27})/.exec(sync.stdout)?.[1];
    expect(runId).toBeTruthy();

    const list = await runCli(["traces", "--function", "sync-source", "--json"], { dataDir });
    expect(list.code, describeResult(list)).toBe(0);
    const page = JSON.parse(list.stdout) as {
      traces: { function: string; runId: string | null }[];
    };
    expect(page.traces.length).toBeGreaterThan(3);
    expect(page.traces.every((t) => t.function === "sync-source")).toBe(true);

    const timeline = await runCli(["traces", (runId as string).slice(0, 8)], { dataDir });
    expect(timeline.code, describeResult(timeline)).toBe(0);
    expect(timeline.stdout).toMatch(/^trace [0-9a-f]{32} · \d+ spans/m);
    for (const step of [
      "sync-source/create-run",
      "sync-source/plan",
      "process-batch/process-batch",
      "sync-source/complete-run",
    ])
      expect(timeline.stdout).toContain(step);
    expect(timeline.stdout).toMatch(/↳ git\./);

    const bad = await runCli(["traces", "--status", "maybe"], { dataDir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/status/);
  }, 300_000);

  it.sequential("restores an archived day (--dry-run first), and refuses a bad day", async () => {
    const dry = await runCli(["traces", "restore", "--day", DAY, "--dry-run"], { dataDir });
    expect(dry.code, describeResult(dry)).toBe(0);
    expect(dry.stdout).toContain(`${DAY}: 1 archive parts verified, 12 rows would be restored`);
    const before = await runCli(
      ["traces", "--from", `${DAY}T00:00:00Z`, "--to", `${DAY}T23:59:59Z`, "--json"],
      { dataDir },
    );
    expect((JSON.parse(before.stdout) as { traces: unknown[] }).traces).toHaveLength(0);

    const restored = await runCli(["traces", "restore", "--day", DAY], { dataDir });
    expect(restored.code, describeResult(restored)).toBe(0);
    expect(restored.stdout).toContain("12 of 12 rows restored");
    const after = await runCli(
      ["traces", "--from", `${DAY}T00:00:00Z`, "--to", `${DAY}T23:59:59Z`, "--json"],
      { dataDir },
    );
    expect((JSON.parse(after.stdout) as { traces: unknown[] }).traces).toHaveLength(12);

    const none = await runCli(["traces", "restore", "--day", "2020-02-02"], { dataDir });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no archive of 2020-02-02/);
    const bad = await runCli(["traces", "restore", "--day", "2026-02-30"], { dataDir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not a calendar day/);
  }, 300_000);

  it.sequential("shows the cleanup plan with --dry-run and refuses decisions without a run or a reason", async () => {
    const plan = await runCli(["cleanup", "run", "--dry-run"], { dataDir });
    expect(plan.code, describeResult(plan)).toBe(0);
    expect(plan.stdout).toMatch(/cleanup plan at/);
    expect(plan.stdout).toMatch(
      /trace_spans: 1 days before \d{4}-\d{2}-\d{2} to archive, verify and delete \(12 rows\)/,
    );
    expect(plan.stdout).toMatch(/needs no approval/);

    const noReason = await runCli(["cleanup", "approve", "00000000-0000-4000-8000-000000000000"], {
      dataDir,
    });
    expect(noReason.code).toBe(2);
    const noRun = await runCli(
      ["cleanup", "approve", "00000000-0000-4000-8000-000000000000", "--reason", "looked at it"],
      { dataDir },
    );
    expect(noRun.code).toBe(1);
    expect(noRun.stderr).toMatch(/no cleanup run/);
  }, 300_000);
});
