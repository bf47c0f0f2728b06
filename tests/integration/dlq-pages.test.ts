import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as dlqGet } from "../../app/api/admin/dlq/route";
import { rowsOf } from "../../db/client";
import { createApiKey } from "../../lib/auth/api-keys";
import { reuseFor } from "../../lib/cache/stale";
import { overviewThroughput, throughput } from "../../lib/console/queries";
import { ValidationError } from "../../lib/errors";
import { cachedHealth } from "../../lib/health/check";
import { addSource } from "../../lib/pipeline/source-records";
import { type DeadLetterPage, listDeadLetters, pageDeadLetters } from "../../lib/recovery/dlq";
import { setRuntime } from "../../lib/runtime";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

/**
 * The dead-letter queue a page at a time (the console's /dlq and GET /api/admin/dlq): keyset
 * pages newest first that cover every entry exactly once in both directions, ties on
 * last_seen_at broken by id, a total per filter, hostile cursors refused; and the overview's
 * reads: the cached health report, the charts' figures from one pass over the runs.
 */
describe("dead-letter pages", () => {
  let rt: TestRuntime;
  let operator: string;

  beforeAll(async () => {
    rt = await createTestRuntime();
    setRuntime(rt);
    operator = (await createApiKey(rt.db, { name: "ops", role: "operator", createdBy: "t" })).key;
    // 130 open (pending/parked; every 5th pair shares its last_seen_at) and 70 resolved.
    await rt.db.execute(sql`
      insert into dead_letters (kind, key, path, error_class, message, status, last_seen_at, resolved_at)
      select 'document', 'document:t:dead-' || g || '.md', 'dead-' || g || '.md', 'internal', 'failed',
        case when g > 130 then 'resolved' when g % 2 = 0 then 'parked' else 'pending' end,
        timestamptz '2026-01-01T00:00:00Z' + (g / 2) * interval '1 minute' + interval '0.000123 seconds',
        case when g > 130 then now() end
      from generate_series(1, 200) g`);
  });
  afterAll(async () => {
    setRuntime(undefined);
    await rt.close();
  });

  const walk = async (status: "open" | "resolved") => {
    const pages: DeadLetterPage[] = [await pageDeadLetters(rt.db, { status })];
    while (pages.at(-1)?.older)
      pages.push(await pageDeadLetters(rt.db, { status, before: pages.at(-1)?.older }));
    return pages;
  };

  it("pages cover every open entry once, newest first, 50 a page, with the total", async () => {
    const pages = await walk("open");
    expect(pages.map((p) => p.entries.length)).toEqual([50, 50, 30]);
    expect(pages.every((p) => p.total === 130 && !p.totalCapped)).toBe(true);
    const all = await listDeadLetters(rt.db, { status: "open", limit: 1000 });
    expect(all).toHaveLength(130);
    expect(pages.flatMap((p) => p.entries.map((e) => e.id))).toEqual(all.map((e) => e.id));
    // Newest first, ties (equal last_seen_at, microseconds included) by id.
    const keys = pages.flatMap((p) => p.entries.map((e) => [e.lastSeenAt.getTime(), e.id]));
    for (let i = 1; i < keys.length; i++) {
      const [t0, id0] = keys[i - 1] as [number, string];
      const [t1, id1] = keys[i] as [number, string];
      expect(t0 > t1 || (t0 === t1 && id0 > id1)).toBe(true);
    }
    expect(pages[0]?.newer).toBeUndefined();
    expect(pages.at(-1)?.older).toBeUndefined();
    expect(pages.every((p) => p.entries.every((e) => e.status !== "resolved"))).toBe(true);
  });

  it("newer cursors walk back to the same pages", async () => {
    const forward = await walk("open");
    const last = forward.at(-1) as DeadLetterPage;
    const back: DeadLetterPage[] = [last];
    while (back.at(-1)?.newer)
      back.push(await pageDeadLetters(rt.db, { status: "open", after: back.at(-1)?.newer }));
    expect(back.map((p) => p.entries.map((e) => e.id))).toEqual(
      [...forward].reverse().map((p) => p.entries.map((e) => e.id)),
    );
    // A page reached backwards knows its older page.
    expect(back[1]?.older).toBe(forward[1]?.entries.at(-1)?.id);
  });

  it("a status filter pages its own entries; resolved ones are not open", async () => {
    const pages = await walk("resolved");
    expect(pages.map((p) => p.entries.length)).toEqual([50, 20]);
    expect(pages[0]?.total).toBe(70);
    expect(pages.every((p) => p.entries.every((e) => e.status === "resolved"))).toBe(true);
  });

  it("a cursor that is not a UUID is refused; one naming no entry gives the first page", async () => {
    await expect(
      pageDeadLetters(rt.db, { status: "open", before: "1' or '1'='1" }),
    ).rejects.toBeInstanceOf(ValidationError);
    const first = await pageDeadLetters(rt.db, { status: "open" });
    const unknown = await pageDeadLetters(rt.db, {
      status: "open",
      before: "00000000-0000-4000-8000-000000000000",
    });
    expect(unknown.entries.map((e) => e.id)).toEqual(first.entries.map((e) => e.id));
    expect(unknown.newer).toBeUndefined();
  });

  it("GET /api/admin/dlq pages with limit and before/after; bad cursors are 422 without SQL", async () => {
    const get = (query: string) =>
      dlqGet(
        new Request(`http://localhost/api/admin/dlq${query}`, {
          headers: { authorization: `Bearer ${operator}` },
        }),
        { params: Promise.resolve({} as never) },
      );
    const first = await get("?limit=60");
    expect(first.status).toBe(200);
    const body = (await first.json()) as {
      depth: { pending: number; parked: number };
      entries: { id: string }[];
      total: number;
      older?: string;
      newer?: string;
    };
    expect(body.entries).toHaveLength(60);
    expect(body.total).toBe(130);
    expect(body.depth.pending + body.depth.parked).toBe(130);
    expect(body.newer).toBeUndefined();
    const second = (await (await get(`?limit=60&before=${body.older}`)).json()) as typeof body;
    expect(second.entries).toHaveLength(60);
    expect(second.entries[0]?.id).not.toBe(body.entries[0]?.id);
    expect(second.newer).toBe(second.entries[0]?.id);
    const back = (await (await get(`?limit=60&after=${second.newer}`)).json()) as typeof body;
    expect(back.entries.map((e) => e.id)).toEqual(body.entries.map((e) => e.id));
    for (const bad of [
      "?before=nope",
      "?after=%27%3B%20drop%20table%20dead_letters%3B--",
      `?before=${body.older}&after=${body.older}`,
      "?limit=0",
    ]) {
      const response = await get(bad);
      expect(response.status).toBe(422);
      const text = await response.text();
      expect(text).not.toMatch(/select|dead_letters|at \/|\.ts:/i);
    }
    const [count] = rowsOf<{ n: number }>(
      await rt.db.execute(sql`select count(*)::int as n from dead_letters`),
    );
    expect(Number(count?.n)).toBe(200);
  });

  it("cachedHealth reuses a report within its window, shares a running check, and re-checks after", async () => {
    let clock = 1_000_000;
    const now = () => clock;
    const [a, b] = await Promise.all([cachedHealth(rt, 5000, now), cachedHealth(rt, 5000, now)]);
    expect(b).toBe(a);
    clock += 4000;
    expect(await cachedHealth(rt, 5000, now)).toBe(a);
    clock += 2000;
    const fresh = await cachedHealth(rt, 5000, now);
    expect(fresh).not.toBe(a);
    expect(fresh.parts.database?.status).toBe("ok");
  });

  it("overviewThroughput gives exactly the 24 h and 30 d figures of the two separate queries", async () => {
    const source = await addSource(rt.db, {
      kind: "git",
      location: rt.dataDir,
      name: "throughput",
    });
    // 600 finished runs over 35 days (some older than the range, some in the current hour).
    await rt.db.execute(sql`
      insert into sync_runs (source_id, dedupe_key, trigger, requested_mode, status, processed, deleted,
        failed, cost_usd, queued_at, finished_at)
      select ${source.id}, 'tp-' || g, 'cli', 'incremental',
        case when g % 7 = 0 then 'failed' when g % 5 = 0 then 'completed_with_errors' else 'succeeded' end,
        g % 13, g % 3, g % 4, (g % 9) * 0.0001,
        now() - g * interval '83 minutes', now() - g * interval '83 minutes' + interval '1 minute'
      from generate_series(0, 600) g`);
    const now = new Date();
    const both = await overviewThroughput(rt.db, now);
    expect(both.day).toEqual(await throughput(rt.db, "24h", now));
    expect(both.month).toEqual(await throughput(rt.db, "30d", now));
    expect(both.day.totals.runs).toBeGreaterThan(10);
    expect(both.month.totals.runs).toBeLessThan(601);
    expect(both.month.totals.failedDocuments).toBeGreaterThan(0);
  });

  it("reuseFor keeps a value for its window per owner, and forgets a failed load", async () => {
    let loads = 0;
    let clock = 0;
    const owner = {};
    const load = async () => ++loads;
    expect(await reuseFor(owner, "n", 1000, load, () => clock)).toBe(1);
    expect(await reuseFor(owner, "n", 1000, load, () => clock)).toBe(1);
    expect(await reuseFor({}, "n", 1000, load, () => clock)).toBe(2);
    clock = 1001;
    expect(await reuseFor(owner, "n", 1000, load, () => clock)).toBe(3);
    const failing = async () => {
      loads++;
      throw new Error("database unreachable");
    };
    await expect(reuseFor(owner, "f", 1000, failing, () => clock)).rejects.toThrow("unreachable");
    await expect(reuseFor(owner, "f", 1000, failing, () => clock)).rejects.toThrow("unreachable");
    expect(loads).toBe(5);
  });
});
