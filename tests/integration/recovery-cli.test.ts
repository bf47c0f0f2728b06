import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, describeResult, runCli, tableRecords } from "../support/cli";
import { makeTempDir, removeTempDirs } from "../support/git-repo";

/** `ballast breakers` and `ballast dlq`, through the real CLI process. */
describe("ballast breakers / dlq", () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await makeTempDir("ballast-cli-recovery-");
    const migrated = await runCli(["db", "migrate"], { dataDir });
    expect(migrated.code, describeResult(migrated)).toBe(0);
  }, 60_000);
  afterAll(removeTempDirs);

  it("lists the breakers, all closed on a fresh install", async () => {
    const result = await runCli(["breakers"], { dataDir });
    expect(result.code, describeResult(result)).toBe(0);
    const rows = tableRecords(result.stdout);
    expect(rows.map((r) => [r.breaker, r.state])).toEqual([
      ["embedding:openai", "closed"],
      ["embedding:cohere", "closed"],
      ["github", "closed"],
      ["s3", "closed"],
    ]);
  }, 60_000);

  it("resets a named breaker, and refuses an unknown name", async () => {
    const ok = await runCli(["breakers", "reset", "github"], { dataDir });
    expect(ok.code, describeResult(ok)).toBe(0);
    expect(ok.stdout).toContain("github: closed");
    const bad = await runCli(["breakers", "reset", "nope"], { dataDir });
    expect(bad.code, describeResult(bad)).toBe(1);
    expect(bad.stderr).toContain('no breaker "nope"');
  }, 60_000);

  it("lists an empty queue and runs error-recovery", async () => {
    const list = await runCli(["dlq", "list"], { dataDir });
    expect(list.code, describeResult(list)).toBe(0);
    expect(list.stdout).toContain("pending 0, parked 0");
    const recover = await runCli(["dlq", "recover"], { dataDir });
    expect(recover.code, describeResult(recover)).toBe(0);
    expect(JSON.parse(recover.stdout.trim())).toMatchObject({ redriven: 0, depth: 0 });
  }, 60_000);

  it("bad arguments are clear errors with a non-zero exit", async () => {
    type Case = [string[], number, RegExp];
    const check = ([, code, message]: Case, result: CliResult) => {
      expect(result.code, describeResult(result)).toBe(code);
      expect(result.stderr, describeResult(result)).toMatch(message);
      expect(result.stderr).not.toMatch(/Failed query|select |at .*\.ts:/);
    };
    // Caught before the database opens: all at once on the same data dir (a process that
    // opened it would hold its lock, and another would fail with "in use by another process").
    const early: Case[] = [
      [["dlq", "retry"], 1, /give an entry id, or --all/],
      [["dlq", "retry", "x", "--all"], 1, /not both/],
      [["dlq", "discard", "0b4a4c7e-1d0c-4e0c-9a4a-1d0c4e0c9a4a"], 2, /--reason/],
      [["dlq", "list", "--status", "bogus"], 1, /--status must be one of/],
      [["dlq", "list", "--limit", "0"], 1, /--limit/],
    ];
    const results = await Promise.all(early.map(([args]) => runCli(args, { dataDir })));
    for (const [i, c] of early.entries()) check(c, results[i] as CliResult);
    // Checked by lib/recovery against the database's entries: one at a time.
    const late: Case[] = [
      [["dlq", "discard", "not-a-uuid", "--reason", "because"], 1, /must be a UUID/],
      [["dlq", "discard", "0b4a4c7e-1d0c-4e0c-9a4a-1d0c4e0c9a4a", "--reason", "x"], 1, /reason/],
    ];
    for (const c of late) check(c, await runCli(c[0], { dataDir }));
  }, 120_000);
});
