import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as auditGet } from "../../app/api/admin/audit/route";
import { GET as configGet } from "../../app/api/admin/config/route";
import { GET as runGet } from "../../app/api/admin/runs/[id]/route";
import { GET as runsGet } from "../../app/api/admin/runs/route";
import { GET as sourcesGet, POST as sourcesPost } from "../../app/api/admin/sources/route";
import { GET as searchGet } from "../../app/api/search/route";
import { createApiKey, revokeApiKey } from "../../lib/auth/api-keys";
import { listAudit } from "../../lib/auth/audit";
import { installPeerAddressStamp, PEER_HEADER } from "../../lib/http/client-address";
import { setRuntime } from "../../lib/runtime";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

const SECRETS = {
  GITHUB_WEBHOOK_SECRET: "whsec-planted-webhook-secret-0001",
  OPENAI_API_KEY: "sk-planted-openai-key-000000000000001",
  GITHUB_TOKEN: "ghp_plantedGithubToken000000000000000001",
  COHERE_API_KEY: "planted-cohere-key-0000000001",
};

type Handler = (request: Request, context: { params: Promise<never> }) => Promise<Response>;
const noParams = { params: Promise.resolve({} as never) };

function call(
  handler: Handler,
  init: {
    path?: string;
    key?: string;
    method?: string;
    body?: string;
    headers?: Record<string, string>;
  } = {},
) {
  // What the server's peer stamp does for a real connection (see client-address.ts).
  const headers: Record<string, string> = { [PEER_HEADER]: "192.0.2.1", ...init.headers };
  if (init.key) headers.authorization = `Bearer ${init.key}`;
  return handler(
    new Request(`http://localhost${init.path ?? "/api/admin/x"}`, {
      method: init.method ?? "GET",
      headers,
      body: init.body,
    }),
    noParams,
  );
}

describe("admin API authentication, roles and audit", () => {
  let rt: TestRuntime;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    installPeerAddressStamp();
    rt = await createTestRuntime(SECRETS);
    setRuntime(rt);
    for (const role of ["viewer", "operator", "admin"]) {
      keys[role] = (
        await createApiKey(rt.db, { name: `${role}-key`, role, createdBy: "test" })
      ).key;
    }
  });
  afterAll(async () => {
    setRuntime(undefined);
    await rt.close();
  });

  it("answers 401 with a JSON error without a key, with a malformed key and with an unknown key", async () => {
    for (const key of [
      undefined,
      "not-a-key",
      "blst_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    ]) {
      const response = await call(configGet as Handler, { key });
      expect(response.status).toBe(401);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("unauthorized");
      expect(body.error.message).toMatch(/Bearer/);
    }
  });

  it("returns the effective configuration with every secret redacted", async () => {
    const response = await call(configGet as Handler, { key: keys.viewer });
    expect(response.status).toBe(200);
    const text = await response.text();
    for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
    const body = JSON.parse(text) as {
      config: { github: { webhookSecret: string }; mode: string };
    };
    expect(body.config.mode).toBe("test");
    expect(body.config.github.webhookSecret).toBe("[redacted]");
  });

  it("answers 403 when the role is too low", async () => {
    const response = await call(runsGet as Handler, { key: keys.viewer });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
      /operator/,
    );
    expect((await call(runsGet as Handler, { key: keys.operator })).status).toBe(200);
    expect((await call(auditGet as Handler, { key: keys.operator })).status).toBe(403);
  });

  it("rejects a non-JSON body with 400 and an invalid one with 422, changing nothing", async () => {
    const before = await (await call(sourcesGet as Handler, { key: keys.viewer })).json();
    const notJson = await call(sourcesPost as Handler, {
      key: keys.admin,
      method: "POST",
      body: "{not json",
    });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe("invalid_json");
    const invalid = await call(sourcesPost as Handler, {
      key: keys.admin,
      method: "POST",
      body: JSON.stringify({ location: 42 }),
    });
    expect(invalid.status).toBe(422);
    const invalidBody = (await invalid.json()) as { error: { issues: { path: string }[] } };
    expect(invalidBody.error.issues[0]?.path).toBe("location");
    const badGlob = await call(sourcesPost as Handler, {
      key: keys.admin,
      method: "POST",
      body: JSON.stringify({ location: "github:octo/repo", include: ["[unclosed"] }),
    });
    expect(badGlob.status).toBe(422);
    expect(await (await call(sourcesGet as Handler, { key: keys.viewer })).json()).toEqual(before);
    const created = await call(sourcesPost as Handler, {
      key: keys.admin,
      method: "POST",
      body: JSON.stringify({ location: "github:octo/repo" }),
    });
    expect(created.status).toBe(201);
    const duplicate = await call(sourcesPost as Handler, {
      key: keys.admin,
      method: "POST",
      body: JSON.stringify({ location: "github:octo/repo" }),
    });
    expect(duplicate.status).toBe(409);
  });

  it("answers 404 and 422 for unknown and malformed run ids", async () => {
    const notUuid = await runGet(
      new Request("http://localhost/api/admin/runs/nope", {
        headers: { authorization: `Bearer ${keys.operator}` },
      }),
      {
        params: Promise.resolve({ id: "nope" }),
      },
    );
    expect(notUuid.status).toBe(422);
    const unknown = await runGet(
      new Request("http://localhost/api/admin/runs/x", {
        headers: { authorization: `Bearer ${keys.operator}` },
      }),
      { params: Promise.resolve({ id: "00000000-0000-4000-8000-000000000000" }) },
    );
    expect(unknown.status).toBe(404);
  });

  it("throttles repeated failed authentications from one peer with 429 however X-Forwarded-For is forged, on admin and search routes", async () => {
    // No trusted proxy is configured, so a forged X-Forwarded-For changes nothing: every attempt
    // counts against the connection's own address.
    const peer = { [PEER_HEADER]: "203.0.113.77" };
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++)
      statuses.push(
        (
          await call(configGet as Handler, {
            key: "wrong-key",
            headers: {
              ...peer,
              "x-forwarded-for": `198.51.100.${i}`,
              "x-real-ip": `198.51.100.${i}`,
            },
          })
        ).status,
      );
    // 30 failures a minute (a sliding window: a minute boundary can move the turning point a
    // little), then 429.
    expect(
      statuses.slice(0, 20).every((s) => s === 401),
      statuses.join(),
    ).toBe(true);
    expect(
      statuses.slice(-5).every((s) => s === 429),
      statuses.join(),
    ).toBe(true);
    expect(
      statuses.every((s) => s === 401 || s === 429),
      statuses.join(),
    ).toBe(true);
    const limited = await call(configGet as Handler, { key: "wrong-key", headers: peer });
    // Retry-After: when the sliding window lets the address in again (at most its minute).
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers.get("ratelimit-limit")).toBe("30");
    expect(limited.headers.get("ratelimit-remaining")).toBe("0");
    const search = await searchGet(
      new Request("http://localhost/api/search?q=x", {
        headers: { ...peer, "x-forwarded-for": "192.0.2.251" },
      }),
    );
    expect(search.status).toBe(429);
    // Another peer, and a valid key, are not affected.
    expect(
      (
        await call(configGet as Handler, {
          key: "wrong-key",
          headers: { [PEER_HEADER]: "203.0.113.78" },
        })
      ).status,
    ).toBe(401);
    expect((await call(configGet as Handler, { key: keys.viewer, headers: peer })).status).toBe(
      200,
    );

    // 40 denials wrote a handful of rows, each with a count, 401s and 429s apart.
    const denied = (await listAudit(rt.db, { limit: 500 })).filter(
      (e) =>
        e.actor === "anonymous" &&
        e.action === "config.read" &&
        (e.details as { client?: string }).client === "203.0.113.77",
    );
    const unauthorized = denied.filter((e) => e.status === 401);
    const throttled = denied.filter((e) => e.status === 429);
    expect(unauthorized.length).toBeGreaterThanOrEqual(1);
    expect(unauthorized.length).toBeLessThanOrEqual(2); // a minute boundary may split them
    expect(throttled.length).toBeGreaterThanOrEqual(1);
    expect(throttled.length).toBeLessThanOrEqual(2);
    const counts = unauthorized.map((e) => Number((e.details as { count?: number }).count));
    expect(Math.max(...counts)).toBeGreaterThanOrEqual(8);
  });

  it("stops accepting a revoked key at once", async () => {
    const created = await createApiKey(rt.db, {
      name: "short-lived",
      role: "admin",
      createdBy: "test",
    });
    expect((await call(configGet as Handler, { key: created.key })).status).toBe(200);
    await revokeApiKey(rt.db, created.prefix);
    expect((await call(configGet as Handler, { key: created.key })).status).toBe(401);
  });

  it("writes every admin action to the audit log: who, what, when, result", async () => {
    const entries = await listAudit(rt.db, { limit: 500 });
    const denied = entries.filter((e) => e.result === "denied");
    expect(
      denied.some((e) => e.status === 401 && e.actor === "anonymous" && e.action === "config.read"),
    ).toBe(true);
    expect(
      denied.some((e) => e.status === 403 && e.actor === "viewer-key" && e.action === "runs.list"),
    ).toBe(true);
    expect(
      entries.some(
        (e) =>
          e.result === "ok" &&
          e.actor === "admin-key" &&
          e.action === "sources.add" &&
          e.status === 201,
      ),
    ).toBe(true);
    expect(
      entries.some((e) => e.result === "error" && e.action === "sources.add" && e.status === 400),
    ).toBe(true);
    for (const entry of entries) expect(entry.at).toBeInstanceOf(Date);
    const audit = await call(auditGet as Handler, { key: keys.admin });
    expect(audit.status).toBe(200);
  });

  it("never writes a secret or a presented key to the logs", async () => {
    await call(configGet as Handler, {
      key: `${keys.admin}`,
      headers: { "x-debug": SECRETS.OPENAI_API_KEY },
    });
    rt.log.info(
      { config: rt.config, note: `token ${SECRETS.GITHUB_TOKEN}` },
      `planted ${SECRETS.GITHUB_WEBHOOK_SECRET}`,
    );
    rt.log.warn({ headers: { authorization: `Bearer ${keys.admin}` } }, "request with a key");
    const logs = rt.logLines.join("\n");
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [...Object.values(SECRETS), ...Object.values(keys)])
      expect(logs).not.toContain(secret);
  });
});
