import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deadLetters, sources } from "../../db/schema";
import { computeFigures } from "../../lib/monitoring/figures";
import { BreakerRegistry } from "../../lib/resilience/breaker";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

/** The monitor reads error recovery's own state: dead-letter entries and dependency breakers. */
describe("monitor figures from error recovery", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime();
  });
  afterAll(async () => {
    await rt.close();
  });

  it("counts open dead letters (not resolved ones) with their age, and reports an open breaker", async () => {
    const now = new Date();
    const [source] = await rt.db
      .insert(sources)
      .values({ name: "dlq source", kind: "git", location: "/tmp/dlq" })
      .returning();
    const hourAgo = new Date(now.getTime() - 3_600_000);
    const base = {
      kind: "document" as const,
      sourceId: source?.id,
      errorClass: "upstream",
      message: "embedding failed",
    };
    await rt.db.insert(deadLetters).values([
      { ...base, key: "document:a", path: "a.md", status: "pending", firstSeenAt: hourAgo },
      { ...base, key: "document:b", path: "b.md", status: "parked" },
      { ...base, key: "document:c", path: "c.md", status: "resolved" },
    ]);
    const breakers = new BreakerRegistry(rt.redis, {
      failureThreshold: 2,
      failureRate: 0.5,
      windowSize: 20,
      openMs: 60_000,
      probeTimeoutMs: 10_000,
    });
    const github = breakers.get("github");
    const down = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    for (let i = 0; i < 2; i++) await github.run(() => Promise.reject(down)).catch(() => undefined);
    expect((await github.snapshot()).state).toBe("open");

    const figures = await computeFigures(rt.db, {
      monitoring: { dailyBudgetUsd: undefined, syncSloMsPer1000Docs: 60_000 },
      breakers,
      now,
    });
    const value = (name: string, labels: Record<string, string> = {}) =>
      figures.find(
        (f) => f.name === name && Object.entries(labels).every(([k, v]) => f.labels[k] === v),
      )?.value;
    expect(value("dlq_depth")).toBe(2);
    expect(value("dlq_oldest_age_seconds")).toBeGreaterThanOrEqual(3_590);
    expect(value("errors_24h", { source: "dlq source", kind: "document" })).toBe(3);
    expect(value("breaker_open", { breaker: "github" })).toBe(1);
    expect(value("breaker_open", { breaker: "s3" })).toBe(0);
  });
});
