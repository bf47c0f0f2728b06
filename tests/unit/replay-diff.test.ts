import { describe, expect, it } from "vitest";
import { diffRun, type RunLedger } from "../../lib/replay/diff";
import type { ReplayResult } from "../../lib/replay/runner";
import { buildScorecard, renderMarkdown } from "../../lib/replay/scorecard";

function ledger(overrides: { chunks?: string[]; ms?: number; reason?: string } = {}): RunLedger {
  return {
    plan: {
      mode: "incremental",
      planned: [
        ["a.md", "upsert", "b1"],
        ["gone.md", "delete", null],
      ],
      skippedByReason: {},
      toCommit: "c2",
      cursorBefore: { commit: "c1", branch: "main" },
      branch: "main",
      ms: 100,
    },
    batches: [
      {
        batch: 0,
        documents: [
          {
            path: "a.md",
            action: "upsert",
            status: "done",
            contentHash: "h",
            chunks: overrides.chunks ?? ["x1", "x2"],
            chunksDeleted: 0,
            chunksEmbedded: 2,
          },
          {
            path: "gone.md",
            action: "delete",
            status: "done",
            chunksDeleted: 3,
            chunksEmbedded: 0,
            ...(overrides.reason ? { reason: overrides.reason } : {}),
          },
        ],
        embedding: { calls: 1, texts: 2, tokens: 40 },
        ms: { read: 10, embed: 20, write: overrides.ms ?? 30 },
      },
    ],
    run: {
      status: "succeeded",
      mode: "incremental",
      error: null,
      counts: {
        processed: 1,
        skipped: 0,
        failed: 0,
        deleted: 1,
        chunksWritten: 2,
        chunksEmbedded: 2,
        chunksDeleted: 3,
        tokens: 40,
      },
      errors: [],
      index: {
        digest: (overrides.chunks ?? ["x1", "x2"]).join(),
        documents: 1,
        chunks: 2,
      },
      ms: { total: 500 },
    },
  };
}

const tolerance = { latency: 0.05, floorMs: 250 };

describe("replay diff", () => {
  it("passes an identical run", () => {
    expect(diffRun(ledger(), ledger(), tolerance)).toMatchObject({ verdict: "pass", reasons: [] });
  });

  it("tolerates latency within the floor, flags it as drift beyond ±5 % and the floor", () => {
    expect(diffRun(ledger(), ledger({ ms: 200 }), tolerance).verdict).toBe("pass");
    const slow = diffRun(ledger(), ledger({ ms: 2000 }), { latency: 0.05, floorMs: 100 });
    expect(slow.verdict).toBe("drift");
    expect(slow.reasons.join()).toMatch(/batch\.write 2000 ms \(recorded 30 ms\)/);
    // 5 % of a long step is more than the floor.
    const long = ledger({ ms: 100_000 });
    expect(diffRun(long, ledger({ ms: 104_000 }), tolerance).verdict).toBe("pass");
    expect(diffRun(long, ledger({ ms: 106_000 }), tolerance).verdict).toBe("drift");
  });

  it("is critical when chunks or the digest differ, naming the document", () => {
    const d = diffRun(ledger(), ledger({ chunks: ["x1", "x3"] }), tolerance);
    expect(d.verdict).toBe("critical");
    expect(d.documents).toEqual(["a.md"]);
    expect(d.reasons.join()).toMatch(/index digest differs/);
  });

  it("counts another skip reason as drift", () => {
    expect(diffRun(ledger(), ledger({ reason: "vanished" }), tolerance).verdict).toBe("drift");
  });
});

function result(sandboxText = ""): ReplayResult {
  return {
    bundle: { id: "b", window: { since: "s", until: "u" }, configHash: "0123456789abcdef" },
    configHash: "0123456789abcdef",
    events: [
      {
        runId: "r1",
        sourceId: "s1",
        sourceName: "demo",
        cause: { name: "github.webhook", correlationId: "github:1" },
        trigger: "webhook",
        diff: { verdict: "pass", reasons: [], documents: [], latency: [] },
        wallMs: 100,
      },
    ],
    skipped: [],
    outsideChanges: [],
    search: null,
    sandboxText,
    tolerance,
    wallMs: 200,
  };
}

describe("replay scorecard", () => {
  it("passes the gate at 100 % with no secret and renders a sign-off block", () => {
    const card = buildScorecard(result(), { minPassRate: 0.95, secrets: ["s3cr3t-value-1"] });
    expect(card.gate).toMatchObject({ passed: true, why: [] });
    expect(card.perEvent[0]?.event).toBe("github.webhook github:1 → sync demo");
    expect(renderMarkdown(card)).toMatch(
      /## Sign-off\n\n\| \| \|\n\|---\|---\|\n\| reviewed by \| ________ \|/,
    );
  });

  it("fails the gate when a secret reaches any output, even at 100 %", () => {
    const card = buildScorecard(result("log line with s3cr3t-value-1 in it"), {
      minPassRate: 0.95,
      secrets: ["s3cr3t-value-1"],
    });
    expect(card.constraints.secretLocations).toEqual(["sandbox logs and ledger"]);
    expect(card.gate.passed).toBe(false);
    expect(JSON.stringify(card)).not.toContain("s3cr3t-value-1");
  });

  it("fails the gate with nothing replayed, and refuses a rate outside 0-1", () => {
    const empty = { ...result(), events: [] };
    expect(buildScorecard(empty, { minPassRate: 0.95, secrets: [] }).gate.why).toContain(
      "no event could be replayed",
    );
    expect(() => buildScorecard(result(), { minPassRate: 1.5, secrets: [] })).toThrow(
      /from 0 to 1/,
    );
  });
});
