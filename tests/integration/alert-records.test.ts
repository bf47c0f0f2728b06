import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listAlerts, raiseAlert, resolveAlert } from "../../lib/alerts/records";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

describe("alert records", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime();
  });
  afterAll(async () => {
    await rt.close();
  });

  it("keeps one firing record per key, counts repeats, and fires anew after resolving", async () => {
    const first = await raiseAlert(rt.db, {
      key: "sync.failed:abc",
      rule: "sync.failed",
      severity: "warning",
      summary: "sync failed",
    });
    expect(first.created).toBe(true);
    const again = await raiseAlert(rt.db, {
      key: "sync.failed:abc",
      rule: "sync.failed",
      severity: "critical",
      summary: "sync failed twice",
      details: { runs: 2 },
    });
    expect(again.created).toBe(false);
    expect(again.alert.id).toBe(first.alert.id);
    expect(again.alert).toMatchObject({
      occurrences: 2,
      severity: "critical",
      details: { runs: 2 },
    });

    const resolved = await resolveAlert(rt.db, "sync.failed:abc", "next sync succeeded");
    expect(resolved?.status).toBe("resolved");
    expect(await resolveAlert(rt.db, "sync.failed:abc", "again")).toBeUndefined();

    const reopened = await raiseAlert(rt.db, {
      key: "sync.failed:abc",
      rule: "sync.failed",
      severity: "warning",
      summary: "failed again",
    });
    expect(reopened.created).toBe(true);
    expect(reopened.alert.id).not.toBe(first.alert.id);
    expect((await listAlerts(rt.db, { status: "firing" })).map((a) => a.summary)).toEqual([
      "failed again",
    ]);
    expect(await listAlerts(rt.db)).toHaveLength(2);
  });

  it("refuses a key that is not a plain identifier", async () => {
    await expect(
      raiseAlert(rt.db, { key: "bad key\n", rule: "x", severity: "info", summary: "x" }),
    ).rejects.toThrow(/not a valid key/);
  });
});
