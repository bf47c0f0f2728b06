import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as resetPost } from "../../app/api/admin/breakers/[name]/reset/route";
import { GET as breakersGet } from "../../app/api/admin/breakers/route";
import { POST as discardPost } from "../../app/api/admin/dlq/[id]/discard/route";
import { POST as retryPost } from "../../app/api/admin/dlq/[id]/retry/route";
import { POST as retryAllPost } from "../../app/api/admin/dlq/retry-all/route";
import { GET as dlqGet } from "../../app/api/admin/dlq/route";
import { GET as healthGet } from "../../app/api/health/route";
import { GET as searchGet } from "../../app/api/search/route";
import { rowsOf } from "../../db/client";
import { createApiKey } from "../../lib/auth/api-keys";
import { ProviderError } from "../../lib/errors";
import { githubWebhookResponse } from "../../lib/http/webhook";
import { createRun, finishRun } from "../../lib/pipeline/runs";
import { addSource, type SourceRecord } from "../../lib/pipeline/source-records";
import { recordEventFailure } from "../../lib/recovery/dlq";
import { recordFunctionFailure } from "../../lib/recovery/recover";
import { setRuntime } from "../../lib/runtime";
import { recoverLocally } from "../../lib/workflows/recover-now";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { createTestRepo, removeTempDirs } from "../support/git-repo";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

const SEARCH_LIMIT = 5;

/** The counts each fault test observed, for the closing note (vitest shows stdout). */
const report = (line: string) => process.stdout.write(`${line}\n`);

describe("breakers, the dead-letter queue and rate limits over HTTP", () => {
  let rt: TestRuntime;
  let viewer: string;
  let operator: string;
  let admin: string;
  let source: SourceRecord;
  const call = (
    handler: (r: Request, c: { params: Promise<never> }) => Promise<Response>,
    path: string,
    key: string,
    init: { method?: string; body?: unknown; params?: Record<string, string> } = {},
  ) =>
    handler(
      new Request(`http://localhost${path}`, {
        method: init.method ?? "GET",
        headers: {
          authorization: `Bearer ${key}`,
          ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      }),
      { params: Promise.resolve((init.params ?? {}) as never) },
    );
  const audit = async (action: string) =>
    rowsOf<{ actor: string; result: string; details: Record<string, unknown> }>(
      await rt.db.execute(
        sql`select actor, result, details from audit_log where action = ${action} order by at`,
      ),
    );

  beforeAll(async () => {
    rt = await createTestRuntime({
      RATE_LIMIT_OVERRIDES: `search=${SEARCH_LIMIT}/1m,webhook=3/1m`,
    });
    setRuntime(rt);
    viewer = (await createApiKey(rt.db, { name: "reader", role: "viewer", createdBy: "t" })).key;
    operator = (await createApiKey(rt.db, { name: "ops", role: "operator", createdBy: "t" })).key;
    admin = (await createApiKey(rt.db, { name: "root", role: "admin", createdBy: "t" })).key;
    const repo = await createTestRepo();
    await repo.writeMany({ "a.md": "# A\n\nalpha\n" });
    await repo.commit("a");
    source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "http" });
  });
  afterAll(async () => {
    setRuntime(undefined);
    await rt.close();
    await removeTempDirs();
  });

  it("inbound limiter: N+10 searches in the window, exactly N pass, the rest 429 with Retry-After and RateLimit-*", async () => {
    // The sliding window weighs the previous minute's count: send all N+10 inside one minute.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_050 - intoMinute));
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < SEARCH_LIMIT + 10; i++) {
      const response = await searchGet(
        new Request("http://localhost/api/search?q=alpha", {
          headers: { authorization: `Bearer ${viewer}` },
        }),
      );
      statuses.push(response.status);
      if (i === 0) expect(response.headers.get("ratelimit-limit")).toBe(String(SEARCH_LIMIT));
      last = response;
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(SEARCH_LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    expect(Number(last?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(last?.headers.get("ratelimit-limit")).toBe(String(SEARCH_LIMIT));
    expect(last?.headers.get("ratelimit-remaining")).toBe("0");
    expect(Number(last?.headers.get("ratelimit-reset"))).toBeGreaterThanOrEqual(1);
    const limitedBody = (await last?.json()) as { error?: { code: string } } | undefined;
    expect(limitedBody?.error?.code).toBe("rate_limited");
    // Another key has its own budget.
    const other = await searchGet(
      new Request("http://localhost/api/search?q=alpha", {
        headers: { authorization: `Bearer ${operator}` },
      }),
    );
    expect(other.status).toBe(200);
    report(
      `[fault inbound limiter] ${SEARCH_LIMIT + 10} requests: ${statuses.filter((s) => s === 200).length} × 200, ${statuses.filter((s) => s === 429).length} × 429 (Retry-After ${last?.headers.get("retry-after")})`,
    );
  });

  it("the webhook route is limited per client address (429 with headers before any processing)", async () => {
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 55_000) await new Promise((r) => setTimeout(r, 60_050 - intoMinute));
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 5; i++) {
      last = await githubWebhookResponse(
        new Request("http://localhost/api/webhooks/github", {
          method: "POST",
          headers: { "content-type": "application/json", "x-github-event": "ping" },
          body: "{}",
        }),
        async () => {},
      );
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 3).every((s) => s !== 429)).toBe(true);
    expect(statuses.slice(3)).toEqual([429, 429]);
    expect(last?.headers.get("ratelimit-limit")).toBe("3");
    expect(last?.headers.get("retry-after")).toMatch(/^\d+$/);
  });

  it("lists breakers, shows an open one in health, and an admin resets it (audited)", async () => {
    const breaker = rt.breakers.get("embedding:openai");
    for (let i = 0; i < 5; i++)
      await breaker
        .run(() => Promise.reject(new ProviderError("openai", 503, "down")))
        .catch(() => {});
    const list = await call(breakersGet, "/api/admin/breakers", viewer);
    expect(list.status).toBe(200);
    const { breakers } = (await list.json()) as { breakers: { name: string; state: string }[] };
    expect(breakers.find((b) => b.name === "embedding:openai")?.state).toBe("open");
    expect(breakers.map((b) => b.name)).toEqual([
      "embedding:openai",
      "embedding:cohere",
      "github",
      "s3",
    ]);

    const health = (await (await healthGet(new Request("http://localhost/api/health"))).json()) as {
      status: string;
      parts: Record<string, { status: string }>;
    };
    expect(health.parts.breakers?.status).toBe("degraded");
    expect(health.status).toBe("degraded");

    const params = { name: "embedding%3Aopenai" };
    expect((await call(resetPost, "/x", operator, { method: "POST", params })).status).toBe(403);
    const bogus = await call(resetPost, "/x", admin, { method: "POST", params: { name: "nope" } });
    expect(bogus.status).toBe(422);
    const reset = await call(resetPost, "/x", admin, { method: "POST", params });
    expect(reset.status).toBe(200);
    expect(await breaker.state()).toBe("closed");
    const entries = await audit("breakers.reset");
    expect(entries.map((e) => e.result)).toEqual(["denied", "error", "ok"]);
  });

  it("lists, retries, retries all and discards dead-letter entries (operator, audited, reason required)", async () => {
    const failure = (n: number) =>
      recordEventFailure(rt.db, {
        functionId: "sync-source",
        event: {
          id: `evt-${n}`,
          name: "source/sync.requested",
          data: { sourceId: source.id, mode: "full", trigger: "webhook", dedupeKey: `d-${n}` },
        },
        errorClass: "server",
        message: "sync failed",
        sourceId: source.id,
      });
    const a = await failure(1);
    const b = await failure(2);
    const c = await failure(3);

    expect((await call(dlqGet, "/api/admin/dlq", viewer)).status).toBe(403);
    const listed = await call(dlqGet, "/api/admin/dlq?status=open", operator);
    expect(listed.status).toBe(200);
    const body = (await listed.json()) as { depth: { pending: number }; entries: { id: string }[] };
    expect(body.depth.pending).toBe(3);
    expect(body.entries.map((e) => e.id).sort()).toEqual([a.id, b.id, c.id].sort());
    expect((await call(dlqGet, "/api/admin/dlq?status=bogus", operator)).status).toBe(422);

    const retried = await call(retryPost, "/x", operator, { method: "POST", params: { id: a.id } });
    expect(retried.status).toBe(202);
    const again = await call(retryPost, "/x", operator, { method: "POST", params: { id: a.id } });
    expect(again.status).toBe(422); // already re-driven
    expect(
      (await call(retryPost, "/x", operator, { method: "POST", params: { id: "not-a-uuid" } }))
        .status,
    ).toBe(422);
    const outbox = rowsOf<{ id: string; data: { dedupeKey: string; trigger: string } }>(
      await rt.db.execute(sql`select id, data from outbox_events where id like 'evt-1%'`),
    );
    expect(outbox).toEqual([
      {
        id: "evt-1:redrive:1",
        data: expect.objectContaining({ dedupeKey: "d-1:redrive:1", trigger: "retry" }),
      },
    ]);

    const noReason = await call(discardPost, "/x", operator, {
      method: "POST",
      params: { id: b.id },
      body: {},
    });
    expect(noReason.status).toBe(422);
    const discarded = await call(discardPost, "/x", operator, {
      method: "POST",
      params: { id: b.id },
      body: { reason: "the source was removed" },
    });
    expect(discarded.status).toBe(200);
    const discards = await audit("dlq.discard");
    expect(discards.at(-1)?.details.reason).toBe("the source was removed");

    const all = await call(retryAllPost, "/x", operator, { method: "POST" });
    expect(all.status).toBe(202);
    expect(((await all.json()) as { retried: number }).retried).toBe(1); // c only
    const [depth] = rowsOf<{ open: number }>(
      await rt.db.execute(
        sql`select count(*) filter (where status in ('pending', 'parked'))::int as open from dead_letters`,
      ),
    );
    expect(depth?.open).toBe(0);
  });

  it("function.failed for a sync: an event entry and an alert; for another app or process-batch: nothing", async () => {
    const failed = (functionId: string) => ({
      function_id: functionId,
      error: {
        name: "Error",
        message: "github is unavailable (circuit breaker open); next attempt after x",
      },
      event: {
        id: "evt-fail-1",
        name: "source/sync.requested",
        data: { sourceId: source.id, mode: "full", trigger: "webhook", dedupeKey: "k-1" },
      },
    });
    const other = await recordFunctionFailure(rt.db, failed("someone-else-sync-source"), {
      appId: "ballast",
      correlationId: "c1",
    });
    expect(other.recorded).toBe(false);
    const batch = await recordFunctionFailure(rt.db, failed("ballast-process-batch"), {
      appId: "ballast",
      correlationId: "c1",
    });
    expect(batch.recorded).toBe(false);
    const sync = await recordFunctionFailure(rt.db, failed("ballast-sync-source"), {
      appId: "ballast",
      correlationId: "c1",
    });
    expect(sync).toMatchObject({ recorded: true, alert: `sync.failed:${source.id}` });
    const [entry] = rowsOf<{ dependency: string; error_class: string }>(
      await rt.db.execute(
        sql`select dependency, error_class from dead_letters where id = ${sync.entryId}`,
      ),
    );
    expect(entry).toEqual({ dependency: "github", error_class: "breaker_open" });
    const alerts = rowsOf<{ key: string; status: string }>(
      await rt.db.execute(sql`select key, status from alerts where rule = 'sync.failed'`),
    );
    expect(alerts).toEqual([{ key: `sync.failed:${source.id}`, status: "firing" }]);
  });

  it("a failed sync raises sync.failed whichever driver ran it; a later good run resolves it", async () => {
    const failed = await createRun(rt.db, {
      sourceId: source.id,
      trigger: "cli",
      mode: "full",
      dedupeKey: "failed-sync-1",
    });
    await finishRun(rt.db, failed.id, "failed", { error: "plan failed: github is unavailable" });
    await recoverLocally(rt.deps);
    const firing = rowsOf<{ status: string; source_id: string }>(
      await rt.db.execute(
        sql`select status, source_id from alerts where key = ${`sync.failed:${source.id}`}`,
      ),
    );
    expect(firing).toEqual([{ status: "firing", source_id: source.id }]);
    const good = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
    expect(good.status).toBe("succeeded");
    await recoverLocally(rt.deps);
    const after = rowsOf<{ status: string }>(
      await rt.db.execute(sql`select status from alerts where key = ${`sync.failed:${source.id}`}`),
    );
    expect(after).toEqual([{ status: "resolved" }]);
  });

  it("parks an entry after the recovery cap and raises the DLQ depth alert over the threshold", async () => {
    rt.deps.dlq = { maxRecoveries: 2, alertDepth: 0, backoffBaseMs: 0 };
    const entry = await recordEventFailure(
      rt.db,
      {
        functionId: "schedule-syncs",
        event: { id: "tick-1", name: "workflow/schedule-syncs.requested", data: {} },
        errorClass: "server",
        message: "boom",
      },
      rt.deps.dlq,
    );
    const statuses: string[] = [];
    for (let round = 0; round < 3; round++) {
      await recoverLocally(rt.deps);
      // The re-driven run failed again (as Inngest would report it).
      await recordEventFailure(
        rt.db,
        {
          functionId: "schedule-syncs",
          event: {
            id: `tick-1:redrive:${round + 1}`,
            name: "workflow/schedule-syncs.requested",
            data: {},
          },
          errorClass: "server",
          message: "boom again",
        },
        rt.deps.dlq,
      );
      const [row] = rowsOf<{ status: string; recoveries: number }>(
        await rt.db.execute(
          sql`select status, recoveries from dead_letters where id = ${entry.id}`,
        ),
      );
      statuses.push(`${row?.status}/${row?.recoveries}`);
    }
    expect(statuses).toEqual(["pending/1", "parked/2", "parked/2"]);
    const result = await recoverLocally(rt.deps);
    expect(result.dlqAlert).toBe("raised");
    const attempts = rowsOf<{ action: string }>(
      await rt.db.execute(
        sql`select action from dead_letter_attempts where entry_id = ${entry.id} order by at`,
      ),
    );
    expect(attempts.map((a) => a.action)).toEqual([
      "failed",
      "redrive",
      "failed",
      "redrive",
      "failed",
      "failed",
    ]);
  });
});
