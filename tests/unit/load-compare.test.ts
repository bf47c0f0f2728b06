import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compareResults, figuresOf, parseLoadResult } from "../../bench/load/compare";
import { brokenCriterion, diagnose } from "../../bench/load/diagnose";
import {
  cpuBetween,
  machineBusyPercent,
  parseProcStat,
  parseStatCpuMs,
  parseStatus,
} from "../../bench/load/process-stats";
import type { LoadResult, PhaseFigures } from "../../bench/load/types";

/** The comparison, breaking-point and /proc logic of `npm run load`, on figures made here. */

function phase(overrides: Partial<PhaseFigures> = {}): PhaseFigures {
  return {
    endpoint: "search",
    connections: 10,
    durationS: 20,
    requests: 2000,
    rps: 100,
    latency: { p50: 40, p95: 80, p99: 120, max: 300, mean: 45 },
    errorRate: 0,
    errors: { non2xx: 0, connection: 0, timeouts: 0 },
    statusCodes: { "200": 2000 },
    server: {
      cpuPercent: 90,
      mainThreadCpuPercent: 50,
      workerThreadCpuPercent: 35,
      helperThreadsCpuPercent: 5,
      cpuMsPerRequest: 9,
      rssPeakBytes: 500 * 1024 * 1024,
      rssEndBytes: 480 * 1024 * 1024,
    },
    probe: { samples: 100, p50: 5, p99: 20, max: 30, failed: 0 },
    loadgenCpuPercent: 30,
    machineBusyPercent: 60,
    ...overrides,
  };
}

function result(search: PhaseFigures = phase(), extra: Partial<LoadResult> = {}): LoadResult {
  return {
    kind: "ballast-load",
    version: 1,
    startedAt: "2026-12-01T00:00:00.000Z",
    finishedAt: "2026-12-01T00:10:00.000Z",
    durationMs: 600_000,
    machine: {
      cpuModel: "Test CPU",
      cpuCount: 2,
      totalMemoryBytes: 24 * 1024 ** 3,
      os: "Linux",
      kernel: "test",
      arch: "x64",
      node: "v20.20.0",
      loadAverageAtStart: [1, 1, 1],
      loadAverageAtEnd: [1, 1, 1],
      gitCommit: "abc",
      gitDirty: false,
      date: "2026-12-01T00:00:00.000Z",
    },
    environment: { next: "16", pglite: "0.5", autocannon: "9", backends: {}, server: "test" },
    options: {
      quick: false,
      files: 10_000,
      baselineSeconds: 20,
      stepSeconds: 10,
      connections: 10,
      maxConnections: 512,
      trackedShare: 0.1,
      trackedRepositories: 20,
      breaking: true,
    },
    corpus: { files: 10_000, chunks: 50_000, commit: "def" },
    idleProbeMs: { p50: 2, p99: 5 },
    baseline: { search },
    breaking: {
      search: {
        endpoint: "search",
        steps: [],
        lastGood: phase({ connections: 32, rps: 150 }),
        firstBad: phase({ connections: 64 }),
        reason: "p99",
        saturated: "database",
      },
    },
    webhookIntegrity: { accepted: 100, stored: 100, queued: 10, inOutbox: 10, lost: 0 },
    ...extra,
  };
}

describe("compareResults", () => {
  it("flags nothing when the run equals the baseline", () => {
    const comparison = compareResults(result(), result());
    expect(comparison.flagged).toEqual([]);
    expect(comparison.rows.length).toBe(figuresOf(result()).length);
    expect(comparison.warnings).toEqual([]);
  });

  it("flags a latency more than 10 % higher, and not one within 10 %", () => {
    const slower = phase({ latency: { p50: 40, p95: 80, p99: 133, max: 300, mean: 45 } });
    const flagged = compareResults(result(), result(slower)).flagged.map((f) => f.key);
    expect(flagged).toEqual(["search.p99"]);
    const slightly = phase({ latency: { p50: 40, p95: 80, p99: 131, max: 300, mean: 45 } });
    expect(compareResults(result(), result(slightly)).flagged).toEqual([]);
  });

  it("flags lower throughput (higher is better) and ignores higher throughput", () => {
    const comparison = compareResults(result(), result(phase({ rps: 85 })));
    expect(comparison.flagged.map((f) => f.key)).toEqual(["search.rps"]);
    expect(comparison.flagged[0]?.worseBy).toBeCloseTo(0.15);
    expect(compareResults(result(), result(phase({ rps: 500 }))).flagged).toEqual([]);
  });

  it("does not flag a change inside the noise floor even when it is over 10 %", () => {
    // 2 ms → 2.8 ms is 40 % worse but under the 1 ms floor.
    const base = phase({ latency: { p50: 2, p95: 3, p99: 4, max: 10, mean: 2 } });
    const now = phase({ latency: { p50: 2.8, p95: 3, p99: 4, max: 10, mean: 2 } });
    expect(compareResults(result(base), result(now)).flagged).toEqual([]);
  });

  it("flags errors appearing where there were none, past 0.1 percentage point", () => {
    expect(
      compareResults(result(), result(phase({ errorRate: 0.0005 }))).flagged.map((f) => f.key),
    ).toEqual([]);
    expect(
      compareResults(result(), result(phase({ errorRate: 0.02 }))).flagged.map((f) => f.key),
    ).toEqual(["search.errorRate"]);
  });

  it("flags a lower breaking point and higher CPU per request and memory", () => {
    const worse = result(
      phase({
        server: { ...phase().server, cpuMsPerRequest: 11, rssPeakBytes: 600 * 1024 * 1024 },
      }),
    );
    const point = worse.breaking.search;
    if (point) point.lastGood = phase({ connections: 16, rps: 120 });
    expect(
      compareResults(result(), worse)
        .flagged.map((f) => f.key)
        .sort(),
    ).toEqual(["search.cpuMsPerRequest", "search.lastGoodRps", "search.rssPeak"]);
  });

  it("always flags a lost webhook, whatever the baseline says", () => {
    const lossy = { accepted: 100, stored: 99, queued: 10, inOutbox: 10, lost: 1 };
    const both = compareResults(
      result(undefined, { webhookIntegrity: lossy }),
      result(undefined, { webhookIntegrity: lossy }),
    );
    expect(both.flagged.map((f) => f.key)).toEqual(["webhook.lost"]);
  });

  it("reports figures missing on one side without flagging them", () => {
    const noBaseline = result();
    noBaseline.baseline = {};
    const comparison = compareResults(result(), noBaseline);
    expect(comparison.flagged).toEqual([]);
    expect(comparison.rows.find((r) => r.key === "search.p99")?.note).toBe(
      "not measured in this run",
    );
  });

  it("warns when the runs are not comparable", () => {
    const other = result();
    other.options = { ...other.options, quick: true, files: 1000 };
    other.machine = { ...other.machine, loadAverageAtStart: [9, 9, 9] };
    const warnings = compareResults(result(), other).warnings.join("\n");
    expect(warnings).toMatch(/quick differs/);
    expect(warnings).toMatch(/files differs/);
    expect(warnings).toMatch(/busier/);
  });
});

describe("parseLoadResult", () => {
  it("accepts a result and names what is wrong with anything else", () => {
    expect(parseLoadResult(JSON.stringify(result()), "a.json").kind).toBe("ballast-load");
    expect(() => parseLoadResult("{", "a.json")).toThrow(/a.json is not JSON/);
    expect(() => parseLoadResult('{"kind":"other"}', "b.json")).toThrow(/not a result/);
    expect(() => parseLoadResult(JSON.stringify({ ...result(), version: 2 }), "c.json")).toThrow(
      /version 2/,
    );
    expect(() => parseLoadResult('{"kind":"ballast-load","version":1}', "d.json")).toThrow(/lacks/);
  });
});

describe("the breaking-point criteria", () => {
  it("passes a step under 1 % errors and 1 s p99, names what a bad step broke", () => {
    expect(brokenCriterion(phase())).toBeNull();
    expect(brokenCriterion(phase({ errorRate: 0.01 }))).toBeNull();
    const slow = phase({ latency: { p50: 400, p95: 900, p99: 1200, max: 2000, mean: 450 } });
    expect(brokenCriterion(slow)).toMatch(/p99 1200 ms > 1000 ms/);
    const failing = phase({
      errorRate: 0.05,
      statusCodes: { "200": 950, "503": 40 },
      errors: { non2xx: 40, connection: 0, timeouts: 10 },
    });
    expect(brokenCriterion(failing)).toMatch(/error rate 5.0 % > 1 % \(40× 503, 10 timeouts\)/);
  });

  it("names what saturated first", () => {
    const machine = { cpuCount: 2, totalMemoryBytes: 24 * 1024 ** 3 };
    const server = phase().server;
    expect(
      diagnose(
        phase({ server: { ...server, mainThreadCpuPercent: 97, workerThreadCpuPercent: 60 } }),
        phase(),
        machine,
        5,
      ),
    ).toMatch(/^event loop: the main thread was busy 97 %/);
    expect(
      diagnose(
        phase({ server: { ...server, mainThreadCpuPercent: 88, workerThreadCpuPercent: 99 } }),
        phase(),
        machine,
        5,
      ),
    ).toMatch(/^database: the embedded PGlite's worker thread was busy 99 %/);
    expect(diagnose(phase({ machineBusyPercent: 97 }), phase(), machine, 5)).toMatch(
      /^CPU: the machine's 2 cores were 97 % busy/,
    );
    expect(
      diagnose(
        phase({ server: { ...server, rssPeakBytes: 900 * 1024 * 1024 } }),
        phase(),
        machine,
        5,
      ),
    ).toMatch(/^memory: peak RSS 900 MiB \(1.8× the last good step\)/);
    expect(diagnose(phase(), phase(), machine, 5)).toMatch(/^no resource saturated/);
  });
});

describe("/proc parsing", () => {
  it("reads utime + stime from a stat line whose name has spaces and parentheses", () => {
    const stat =
      "4242 (next-server (v1) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 1000 0";
    expect(parseStatCpuMs(stat)).toBe(3000);
  });

  it("reads VmRSS, VmHWM and Threads from status", () => {
    const status = "Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t12\n";
    expect(parseStatus(status)).toEqual({
      rssBytes: 100 * 1024 * 1024,
      peakRssBytes: 200 * 1024 * 1024,
      threads: 12,
    });
  });

  it("splits CPU into the main thread, the busiest worker and the helpers", () => {
    const before = {
      at: 0,
      processMs: 0,
      threads: new Map([
        [10, { name: "next-server (v1", ms: 0 }],
        [11, { name: "node", ms: 0 }],
        [12, { name: "next-server (v1", ms: 0 }],
      ]),
    };
    const after = {
      at: 1000,
      processMs: 1500,
      threads: new Map([
        [10, { name: "next-server (v1", ms: 900 }],
        [11, { name: "node", ms: 100 }],
        [12, { name: "next-server (v1", ms: 500 }],
      ]),
    };
    expect(cpuBetween(10, before, after)).toEqual({
      processPercent: 150,
      mainThreadPercent: 90,
      workerThreadPercent: 50,
      helperThreadsPercent: 10,
    });
  });

  it("computes how busy the machine was from /proc/stat", () => {
    const a = parseProcStat("cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3 4\n");
    const b = parseProcStat("cpu  250 0 150 900 0 0 0 0 0 0\n");
    expect(machineBusyPercent(a, b)).toBe(66.7);
  });
});

describe("npm run load -- --compare FILE --current FILE", () => {
  const root = path.resolve(import.meta.dirname, "..", "..");
  const dir = mkdtempSync(path.join(os.tmpdir(), "ballast-load-compare-"));
  const baselineFile = path.join(dir, "baseline.json");
  writeFileSync(baselineFile, JSON.stringify(result()));
  const run = (current: LoadResult | string) => {
    const file = path.join(dir, `current-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, typeof current === "string" ? current : JSON.stringify(current));
    return spawnSync(
      process.execPath,
      [
        path.join(root, "node_modules", "tsx", "dist", "cli.mjs"),
        path.join(root, "bench", "load", "run.ts"),
        "--compare",
        baselineFile,
        "--current",
        file,
      ],
      {
        cwd: root,
        encoding: "utf8",
        env: { ...process.env, LOG_LEVEL: "silent" },
      },
    );
  };

  it("exits 0 without a regression and 1 with one, naming it", () => {
    const same = run(result());
    expect(same.stdout).toMatch(/No regression/);
    expect(same.status).toBe(0);
    const worse = run(result(phase({ rps: 50 })));
    expect(worse.stdout).toMatch(/REGRESSION/);
    expect(worse.stdout).toMatch(/1 regression\(s\): search baseline: requests\/s/);
    expect(worse.status).toBe(1);
  }, 60_000);

  it("exits 2 naming a file that is not a load result", () => {
    const bad = run("[]");
    expect(bad.stderr).toMatch(/is not a result of npm run load/);
    expect(bad.status).toBe(2);
  }, 60_000);
});
