import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as replayGet } from "../../app/api/admin/replays/[id]/route";
import { POST as signOffPost } from "../../app/api/admin/replays/[id]/sign-off/route";
import { POST as replaysPost } from "../../app/api/admin/replays/route";
import { rowsOf } from "../../db/client";
import { outboxEvents } from "../../db/schema";
import { createApiKey } from "../../lib/auth/api-keys";
import { createSession } from "../../lib/auth/sessions";
import { installPeerAddressStamp, PEER_HEADER } from "../../lib/http/client-address";
import { sessionCookieName } from "../../lib/http/session-cookie";
import { addSource, type SourceRecord } from "../../lib/pipeline/source-records";
import { encodeBundle, exportBundle, storeBundle } from "../../lib/replay/bundle";
import { setRuntime } from "../../lib/runtime";
import { replayRequestedData } from "../../lib/workflows/events";
import { workflows } from "../../lib/workflows/index";
import { runInline } from "../../lib/workflows/inline";
import { replayWorkflow } from "../../lib/workflows/replay";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { createTestRepo, removeTempDirs } from "../support/git-repo";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

type Handler = (r: Request, c: { params: Promise<never> }) => Promise<Response>;

/** Starting a replay and signing a scorecard off over HTTP: input, roles, CSRF, audit, the workflow. */
describe("POST /api/admin/replays and /api/admin/replays/:id/sign-off", () => {
  let rt: TestRuntime;
  const keys: Record<string, { key: string; id: string }> = {};
  let source: SourceRecord;
  const since = new Date(Date.now() - 3600_000).toISOString();
  let until: string;
  let reportId: string;

  const call = (
    handler: unknown,
    path: string,
    init: {
      key?: string;
      body?: unknown;
      raw?: string;
      headers?: Record<string, string>;
      params?: Record<string, string>;
    } = {},
  ) =>
    (handler as Handler)(
      new Request(`http://localhost${path}`, {
        method: "POST",
        headers: {
          [PEER_HEADER]: "192.0.2.9",
          ...(init.key ? { authorization: `Bearer ${init.key}` } : {}),
          "content-type": "application/json",
          ...init.headers,
        },
        body: init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
      }),
      { params: Promise.resolve((init.params ?? {}) as never) },
    );
  const audit = async (action: string) =>
    rowsOf<{ actor: string; result: string; status: number; details: Record<string, unknown> }>(
      await rt.db.execute(
        sql`select actor, result, status, details from audit_log where action = ${action} order by at`,
      ),
    );
  const outboxCount = async () => (await rt.db.select().from(outboxEvents)).length;

  beforeAll(async () => {
    installPeerAddressStamp();
    rt = await createTestRuntime({ SYNC_BATCH_SIZE: "4" });
    setRuntime(rt);
    for (const role of ["viewer", "operator", "admin"])
      keys[role] = await createApiKey(rt.db, { name: `${role}-key`, role, createdBy: "t" });
    const repo = await createTestRepo();
    await repo.writeMany({
      "docs/a.md": "# A\n\nalpha beta\n",
      "src/b.ts": "export const b = 1;\n",
    });
    await repo.commit("initial");
    source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "ranged" });
    const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
    expect(run.status).toBe("succeeded");
    until = new Date(Date.now() + 60_000).toISOString();
  }, 120_000);
  afterAll(async () => {
    setRuntime(undefined);
    await rt.close();
    await removeTempDirs();
  });

  it("refuses bad and hostile input with a 4xx naming the field, queueing nothing", async () => {
    const before = await outboxCount();
    const operator = keys.operator?.key ?? "";
    const bad: [unknown, number, RegExp][] = [
      [{ since }, 422, /until/],
      [{ since: until, until: since }, 422, /until must be after since/],
      [{ since: "yesterday", until }, 422, /since must be an ISO 8601 time/],
      [{ since: "2026-01-01T00:00:00Z", until: "2026-03-01T00:00:00Z" }, 422, /at most 31 days/],
      [{ bundle: "replay/bundles/x.json.gz", since, until }, 422, /not both/],
      [{ bundle: "replay/../../etc/passwd.json.gz" }, 422, /archive key of a bundle/],
      [{ bundle: "/etc/passwd" }, 422, /archive key of a bundle/],
      [{ since, until, minPassRate: 2 }, 422, /0 to 1/],
      [{ since, until, minPassRate: "0.9" }, 422, /0 to 1/],
      [{ since, until, extra: "'; drop table sources; --" }, 422, /extra/],
      [{ since, until, source: "no-such-source" }, 404, /no-such-source|not found|no source/i],
      [{ bundle: "replay/bundles/2026-12-01/missing.json.gz" }, 404, /no bundle/],
      [[], 422, /object/i],
    ];
    for (const [body, status, message] of bad) {
      const response = await call(replaysPost, "/api/admin/replays", { key: operator, body });
      const text = await response.text();
      expect(response.status, `${JSON.stringify(body)} → ${text}`).toBe(status);
      expect(text, JSON.stringify(body)).toMatch(message);
      expect(text).not.toMatch(/select |insert |stack|at \/|node_modules/i);
    }
    const notJson = await call(replaysPost, "/api/admin/replays", { key: operator, raw: "{nope" });
    expect(notJson.status).toBe(400);
    const empty = await call(replaysPost, "/api/admin/replays", { key: operator, raw: "" });
    expect(empty.status).toBe(400);
    const huge = await call(replaysPost, "/api/admin/replays", {
      key: operator,
      raw: JSON.stringify({ since, until, source: "x".repeat(40_000) }),
    });
    expect(huge.status).toBe(413);
    expect(await outboxCount()).toBe(before);
  });

  it("needs an operator: 401 without a key, 403 for a viewer, 403 for a session from another origin", async () => {
    const before = await outboxCount();
    expect((await call(replaysPost, "/api/admin/replays", { body: { since, until } })).status).toBe(
      401,
    );
    const viewer = await call(replaysPost, "/api/admin/replays", {
      key: keys.viewer?.key,
      body: { since, until },
    });
    expect(viewer.status).toBe(403);
    const session = await createSession(
      rt.db,
      { kind: "key", keyId: keys.operator?.id ?? "", role: "operator" },
      { ttlMs: 600_000 },
    );
    const cookie = `${sessionCookieName(rt.config.console)}=${session.token}`;
    for (const headers of [{ origin: "https://evil.example" }, {}] as Record<string, string>[]) {
      const response = await call(replaysPost, "/api/admin/replays", {
        body: { since, until },
        headers: { cookie, ...headers },
      });
      expect(response.status, JSON.stringify(headers)).toBe(403);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
        "csrf_failed",
      );
    }
    expect(await outboxCount()).toBe(before);
    const denied = await audit("replays.start");
    expect(denied.map((a) => a.status)).toEqual(expect.arrayContaining([403]));
  });

  it("queues workflow/replay.requested with the range; the replay workflow scores it", async () => {
    const response = await call(replaysPost, "/api/admin/replays", {
      key: keys.operator?.key,
      body: { since, until, source: "ranged", minPassRate: 0.9 },
    });
    expect(response.status).toBe(202);
    const body = (await response.json()) as {
      event: { id: string; name: string };
      correlationId: string;
    };
    expect(body.event.name).toBe("workflow/replay.requested");
    const [row] = await rt.db.select().from(outboxEvents).where(eq(outboxEvents.id, body.event.id));
    const data = replayRequestedData.parse(row?.data);
    expect(data).toMatchObject({
      since,
      until,
      source: source.id,
      minPassRate: 0.9,
      requestedBy: "operator-key",
      correlationId: body.correlationId,
    });
    const [started] = await audit("replays.start").then((rows) =>
      rows.filter((r) => r.result === "ok"),
    );
    expect(started).toMatchObject({ actor: "operator-key", status: 202 });
    expect(started?.details).toMatchObject({ source: "ranged", minPassRate: 0.9 });

    // The workflow the event starts (the inline driver, as the CLI runs it).
    const outcome = await runInline(
      replayWorkflow,
      { name: body.event.name, data: row?.data as Record<string, unknown> },
      { deps: async () => rt.deps, log: rt.log, workflows },
    );
    if (!outcome.ok) throw outcome.error;
    const result = outcome.result as {
      requested: boolean;
      reportId: string;
      events: number;
      passRate: number;
      minPassRate: number;
      gatePassed: boolean;
      alert: string;
      bundle: string;
    };
    expect(result).toMatchObject({
      requested: true,
      events: 1,
      passRate: 1,
      minPassRate: 0.9,
      gatePassed: true,
      alert: "none",
    });
    expect(result.bundle).toMatch(/^replay\/requested\/admin-/);
    reportId = result.reportId;
    // The same event again (a retried or dashboard-replayed run) reuses the bundle and report.
    const again = await runInline(
      replayWorkflow,
      { name: body.event.name, data: row?.data as Record<string, unknown> },
      { deps: async () => rt.deps, log: rt.log, workflows },
    );
    if (!again.ok) throw again.error;
    expect((again.result as { reportId: string }).reportId).toBe(reportId);
  }, 240_000);

  it("replays a bundle already in the archive store by its key", async () => {
    const bundle = await exportBundle(rt, { since: new Date(since), until: new Date(until) });
    const key = await storeBundle(rt.archive, bundle);
    expect(encodeBundle(bundle).length).toBeGreaterThan(0);
    const response = await call(replaysPost, "/api/admin/replays", {
      key: keys.operator?.key,
      body: { bundle: `archive:${key}` },
    });
    expect(response.status).toBe(202);
    const { event } = (await response.json()) as { event: { id: string } };
    const [row] = await rt.db.select().from(outboxEvents).where(eq(outboxEvents.id, event.id));
    expect(row?.data).toMatchObject({ bundle: key });
    expect(row?.data).not.toHaveProperty("since");
  });

  it("signs a scorecard off (admin, audited): approve is recorded as ship with the reason", async () => {
    const path = `/api/admin/replays/${reportId}/sign-off`;
    const params = { id: reportId };
    const good = { decision: "approve", reason: "pass rate 100 %, no drift" };
    expect((await call(signOffPost, path, { body: good, params })).status).toBe(401);
    for (const role of ["viewer", "operator"])
      expect(
        (await call(signOffPost, path, { key: keys[role]?.key, body: good, params })).status,
        role,
      ).toBe(403);
    const admin = keys.admin?.key;
    const bad: [unknown, RegExp][] = [
      [{ decision: "maybe", reason: "because" }, /approve or reject/],
      [{ decision: "approve" }, /say why/],
      [{ decision: "reject", reason: "x" }, /say why/],
      [{ decision: "approve", reason: "ok fine", by: "someone else" }, /by/],
    ];
    for (const [body, message] of bad) {
      const response = await call(signOffPost, path, { key: admin, body, params });
      expect(response.status, JSON.stringify(body)).toBe(422);
      expect(await response.text()).toMatch(message);
    }
    const notId = await call(signOffPost, "/api/admin/replays/x/sign-off", {
      key: admin,
      body: good,
      params: { id: "1' or '1'='1" },
    });
    expect(notId.status).toBe(422);
    const missing = await call(signOffPost, "/api/admin/replays/x/sign-off", {
      key: admin,
      body: good,
      params: { id: "00000000-0000-4000-8000-000000000000" },
    });
    expect(missing.status).toBe(404);
    const read = async () => {
      const response = await (replayGet as unknown as Handler)(
        new Request(`http://localhost/api/admin/replays/${reportId}`, {
          headers: { [PEER_HEADER]: "192.0.2.9", authorization: `Bearer ${admin}` },
        }),
        { params: Promise.resolve({ id: reportId } as never) },
      );
      return (await response.json()) as {
        scorecard: { signOff: { by: string | null; decision: string | null; note?: string } };
        markdown: string;
      };
    };
    expect((await read()).scorecard.signOff.decision).toBeNull();

    const signed = await call(signOffPost, path, { key: admin, body: good, params });
    expect(signed.status).toBe(200);
    const shown = await read();
    expect(shown.scorecard.signOff).toMatchObject({
      by: "admin-key",
      decision: "ship",
      note: "pass rate 100 %, no drift",
    });
    expect(shown.markdown).toMatch(/\| decision \| ship \|/);
    const rejected = await call(signOffPost, path, {
      key: admin,
      body: { decision: "reject", reason: "hold for the chunker fix" },
      params,
    });
    expect(rejected.status).toBe(200);
    expect((await read()).scorecard.signOff.decision).toBe("hold");
    const entries = await audit("replays.sign-off");
    expect(entries.filter((e) => e.result === "ok")).toHaveLength(2);
    expect(entries.find((e) => e.result === "ok")?.details).toMatchObject({
      decision: "approve",
      reason: "pass rate 100 %, no drift",
    });
    expect(entries.filter((e) => e.result === "denied").length).toBeGreaterThanOrEqual(3);
  });
});
