import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as configGet } from "../../app/api/admin/config/route";
import { POST as syncPost } from "../../app/api/admin/sources/[id]/sync/route";
import { sessions, syncRuns } from "../../db/schema";
import { createApiKey, revokeApiKey } from "../../lib/auth/api-keys";
import { listAudit } from "../../lib/auth/audit";
import { createSession, hashSessionToken } from "../../lib/auth/sessions";
import { installPeerAddressStamp, PEER_HEADER } from "../../lib/http/client-address";
import { runConsoleAction } from "../../lib/http/console-action";
import {
  githubCallbackResponse,
  githubStartResponse,
  keyLoginResponse,
  logoutResponse,
} from "../../lib/http/console-auth";
import { addSource, parseNewSource } from "../../lib/pipeline/source-records";
import { setRuntime } from "../../lib/runtime";
import { type FakeGitHubOAuth, startFakeGitHubOAuth } from "../support/fake-github-oauth";
import { createTestRepo, removeTempDirs } from "../support/git-repo";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

/**
 * The console's sign-in and session rules through the real handlers (route files and lib/http)
 * on a test-mode runtime: cookies are Secure there (every mode but development).
 */

type Handler = (request: Request, context: { params: Promise<never> }) => Promise<Response>;
const ORIGIN = "http://localhost";

function request(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
) {
  return new Request(`${ORIGIN}${path}`, {
    method: init.method ?? "GET",
    headers: { [PEER_HEADER]: "192.0.2.10", ...init.headers },
    body: init.body,
  });
}

function cookieOf(response: Response, name: string): string | undefined {
  const line = response.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  return line?.split(";")[0]?.slice(name.length + 1);
}

async function login(key: string, extra: Record<string, string> = {}) {
  return keyLoginResponse(
    request("/auth/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, ...extra },
      body: new URLSearchParams({ key, next: "/runs?status=failed" }).toString(),
    }),
  );
}

const COOKIE = "__Host-ballast_session";

describe("console sign-in, sessions and CSRF", () => {
  let rt: TestRuntime;
  let github: FakeGitHubOAuth;
  const keys: Record<string, { key: string; id: string; prefix: string }> = {};
  let sourceId: string;

  beforeAll(async () => {
    installPeerAddressStamp();
    github = await startFakeGitHubOAuth();
    rt = await createTestRuntime({
      GITHUB_OAUTH_CLIENT_ID: github.clientId,
      GITHUB_OAUTH_CLIENT_SECRET: github.clientSecret,
      GITHUB_OAUTH_URL: github.url,
      GITHUB_API_URL: github.url,
      GITHUB_SIGNIN_ADMINS: "user:Boss",
      GITHUB_SIGNIN_OPERATORS: "team:acme/platform",
      GITHUB_SIGNIN_VIEWERS: "org:acme",
    });
    setRuntime(rt);
    for (const role of ["viewer", "operator", "admin"]) {
      const created = await createApiKey(rt.db, { name: `${role}-key`, role, createdBy: "test" });
      keys[role] = { key: created.key, id: created.id, prefix: created.prefix };
    }
    const repo = await createTestRepo();
    await repo.writeMany({ "README.md": "# hello\n" });
    await repo.commit("one");
    sourceId = (await addSource(rt.db, parseNewSource({ location: repo.dir, name: "demo" }))).id;
  });
  afterAll(async () => {
    setRuntime(undefined);
    await rt.close();
    await github.close();
    await removeTempDirs();
  });

  it("exchanges a key for an HttpOnly, Secure, SameSite=Strict session cookie with an expiry, stored hashed", async () => {
    const response = await login(keys.operator?.key ?? "");
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/runs?status=failed");
    const setCookie = response.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`)) ?? "";
    expect(setCookie).toMatch(/; Path=\//);
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Strict/);
    expect(setCookie).toMatch(/; Secure/);
    const expires = Date.parse(/Expires=([^;]+)/.exec(setCookie)?.[1] ?? "");
    expect(expires - Date.now()).toBeGreaterThan(11 * 3600_000);
    expect(expires - Date.now()).toBeLessThanOrEqual(12 * 3600_000 + 1000);
    const token = cookieOf(response, COOKIE) ?? "";
    const rows = await rt.db
      .select()
      .from(sessions)
      .where(eq(sessions.tokenHash, hashSessionToken(token)));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: "key", keyId: keys.operator?.id, role: "operator" });
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it("lets a session reach admin routes as its key's role, audited as the key with via=session", async () => {
    const token = cookieOf(await login(keys.viewer?.key ?? ""), COOKIE);
    const ok = await (configGet as Handler)(
      request("/api/admin/config", { headers: { cookie: `${COOKIE}=${token}` } }),
      {
        params: Promise.resolve({} as never),
      },
    );
    expect(ok.status).toBe(200);
    const sync = await (syncPost as unknown as Handler)(
      request(`/api/admin/sources/${sourceId}/sync`, {
        method: "POST",
        headers: { cookie: `${COOKIE}=${token}`, origin: ORIGIN },
      }),
      { params: Promise.resolve({ id: sourceId } as never) },
    );
    expect(sync.status).toBe(403);
    const audit = await listAudit(rt.db, { limit: 5 });
    expect(audit.find((e) => e.action === "config.read")).toMatchObject({
      actor: "viewer-key",
      actorKeyId: keys.viewer?.id,
      result: "ok",
      details: expect.objectContaining({ via: "session" }),
    });
  });

  it("refuses a session's state-changing request from another origin or with no origin, and changes nothing", async () => {
    const token = cookieOf(await login(keys.operator?.key ?? ""), COOKIE);
    const runsBefore = (await rt.db.select().from(syncRuns)).length;
    const attempts: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { origin: "null" },
      {},
      { "sec-fetch-site": "cross-site" },
    ];
    for (const headers of attempts) {
      const response = await (syncPost as unknown as Handler)(
        request(`/api/admin/sources/${sourceId}/sync`, {
          method: "POST",
          headers: { cookie: `${COOKIE}=${token}`, ...headers },
        }),
        { params: Promise.resolve({ id: sourceId } as never) },
      );
      expect(response.status, JSON.stringify(headers)).toBe(403);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
        "csrf_failed",
      );
    }
    expect((await rt.db.select().from(syncRuns)).length).toBe(runsBefore);
    const allowed = await (syncPost as unknown as Handler)(
      request(`/api/admin/sources/${sourceId}/sync`, {
        method: "POST",
        headers: { cookie: `${COOKIE}=${token}`, origin: ORIGIN },
      }),
      { params: Promise.resolve({ id: sourceId } as never) },
    );
    expect(allowed.status).toBe(202);
    // A Bearer key carries no ambient credential: no origin check, exactly as before.
    const bearer = await (syncPost as unknown as Handler)(
      request(`/api/admin/sources/${sourceId}/sync`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${keys.operator?.key}`,
          origin: "https://elsewhere.example",
        },
      }),
      { params: Promise.resolve({ id: sourceId } as never) },
    );
    expect(bearer.status).toBe(202);
  });

  it("refuses a cross-site sign-in and sign-out (no session made, none ended)", async () => {
    const before = (await rt.db.select().from(sessions)).length;
    const crossSite = await login(keys.admin?.key ?? "", { origin: "https://evil.example" });
    expect(crossSite.status).toBe(403);
    expect(crossSite.headers.getSetCookie()).toEqual([]);
    expect((await rt.db.select().from(sessions)).length).toBe(before);
    const token = cookieOf(await login(keys.admin?.key ?? ""), COOKIE);
    const out = await logoutResponse(
      request("/auth/logout", {
        method: "POST",
        headers: { cookie: `${COOKIE}=${token}`, origin: "https://evil.example" },
      }),
    );
    expect(out.status).toBe(403);
    const still = await (configGet as Handler)(
      request("/api/admin/config", { headers: { cookie: `${COOKIE}=${token}` } }),
      {
        params: Promise.resolve({} as never),
      },
    );
    expect(still.status).toBe(200);
  });

  it("signs out: the session ends server-side and the cookie is cleared", async () => {
    const token = cookieOf(await login(keys.admin?.key ?? ""), COOKIE);
    const out = await logoutResponse(
      request("/auth/logout", {
        method: "POST",
        headers: { cookie: `${COOKIE}=${token}`, origin: ORIGIN },
      }),
    );
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe("/login?signed_out=1");
    expect(out.headers.getSetCookie().join()).toMatch(
      new RegExp(`${COOKIE}=; Path=/; Expires=Thu, 01 Jan 1970`),
    );
    const after = await (configGet as Handler)(
      request("/api/admin/config", { headers: { cookie: `${COOKIE}=${token}` } }),
      {
        params: Promise.resolve({} as never),
      },
    );
    expect(after.status).toBe(401);
  });

  it("ends sessions at expiry and when their key is revoked", async () => {
    const created = await createApiKey(rt.db, {
      name: "short-lived",
      role: "admin",
      createdBy: "test",
    });
    const expired = await createSession(
      rt.db,
      { kind: "key", keyId: created.id, role: "admin" },
      { ttlMs: 1000, now: new Date(Date.now() - 10_000) },
    );
    const call = (token: string) =>
      (configGet as Handler)(
        request("/api/admin/config", { headers: { cookie: `${COOKIE}=${token}` } }),
        {
          params: Promise.resolve({} as never),
        },
      );
    expect((await call(expired.token)).status).toBe(401);
    const token = cookieOf(await login(created.key), COOKIE) ?? "";
    expect((await call(token)).status).toBe(200);
    await revokeApiKey(rt.db, created.prefix);
    expect((await call(token)).status).toBe(401);
  });

  it("sends a bad key back to the login page, then rate limits failed sign-ins from one address", async () => {
    const bad = await login("blst_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", {
      [PEER_HEADER]: "192.0.2.77",
    });
    expect(bad.status).toBe(303);
    expect(bad.headers.get("location")).toMatch(/^\/login\?error=invalid&next=/);
    let last = "";
    for (let i = 0; i < 35; i++)
      last =
        (await login(`nope-${i}`, { [PEER_HEADER]: "192.0.2.77" })).headers.get("location") ?? "";
    expect(last).toMatch(/error=rate_limited/);
    // Only failures count: a valid key still signs in (as a valid Bearer key is still served).
    expect((await login(keys.viewer?.key ?? "", { [PEER_HEADER]: "192.0.2.77" })).status).toBe(303);
    const empty = await login("", { [PEER_HEADER]: "192.0.2.78" });
    expect(empty.headers.get("location")).toMatch(/error=missing/);
  });

  it("never redirects off-site after sign-in", async () => {
    for (const next of [
      "//evil.example/x",
      "https://evil.example",
      "/\\evil.example",
      "/login?x=1",
    ]) {
      const response = await keyLoginResponse(
        request("/auth/login", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
          body: new URLSearchParams({ key: keys.viewer?.key ?? "", next }).toString(),
        }),
      );
      expect(response.headers.get("location"), next).toBe("/");
    }
  });

  async function githubSignIn(user: Parameters<FakeGitHubOAuth["setUser"]>[0], next = "/sources") {
    github.setUser(user);
    const start = await githubStartResponse(
      request(`/auth/github?next=${encodeURIComponent(next)}`),
    );
    expect(start.status).toBe(302);
    const authorize = new URL(start.headers.get("location") ?? "");
    expect(authorize.origin + authorize.pathname).toBe(`${github.url}/login/oauth/authorize`);
    expect(authorize.searchParams.get("scope")).toBe("read:org");
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.get("redirect_uri")).toBe(`${ORIGIN}/auth/github/callback`);
    const stateCookie =
      start.headers.getSetCookie().find((c) => c.startsWith("__Secure-ballast_oauth=")) ?? "";
    expect(stateCookie).toMatch(/SameSite=Lax/);
    expect(stateCookie).toMatch(/; Path=\/auth\/github;.*; Secure/);
    expect(stateCookie).toMatch(/HttpOnly/);
    const back = await fetch(authorize, { redirect: "manual" });
    const callback = new URL(back.headers.get("location") ?? "");
    return githubCallbackResponse(
      request(`${callback.pathname}${callback.search}`, {
        headers: { cookie: stateCookie.split(";")[0] ?? "" },
      }),
    );
  }

  it("signs in with GitHub against the loopback provider, the role from the allow-list (user, team, org)", async () => {
    const cases = [
      { user: { login: "boss", id: 7, orgs: [], teams: [] }, role: "admin" },
      { user: { login: "dev", id: 8, orgs: ["acme"], teams: ["acme/platform"] }, role: "operator" },
      { user: { login: "reader", id: 9, orgs: ["ACME", "other"], teams: [] }, role: "viewer" },
    ];
    for (const { user, role } of cases) {
      const response = await githubSignIn(user);
      expect(response.status, user.login).toBe(200);
      expect(await response.text()).toContain('http-equiv="refresh" content="0;url=/sources"');
      const token = cookieOf(response, COOKIE) ?? "";
      const [row] = await rt.db
        .select()
        .from(sessions)
        .where(eq(sessions.tokenHash, hashSessionToken(token)));
      expect(row).toMatchObject({
        kind: "github",
        githubLogin: user.login,
        githubId: user.id,
        role,
      });
    }
    // The team membership was asked about, and only for the configured team in the user's org.
    expect(
      github.requests.some((r) => r.path === "/orgs/acme/teams/platform/memberships/dev"),
    ).toBe(true);
  });

  it("refuses a GitHub user on no allow-list, a denied consent and a forged state, without a session", async () => {
    const before = (await rt.db.select().from(sessions)).length;
    const stranger = await githubSignIn({
      login: "stranger",
      id: 99,
      orgs: ["elsewhere"],
      teams: [],
    });
    expect(stranger.status).toBe(303);
    expect(stranger.headers.get("location")).toBe("/login?error=github_not_allowed");
    const denied = await githubSignIn("deny");
    expect(denied.headers.get("location")).toBe("/login?error=github_denied");
    github.setUser({ login: "boss", id: 7, orgs: [], teams: [] });
    const start = await githubStartResponse(request("/auth/github"));
    const authorize = new URL(start.headers.get("location") ?? "");
    const back = new URL(
      (await fetch(authorize, { redirect: "manual" })).headers.get("location") ?? "",
    );
    back.searchParams.set("state", "forged-state-value-000000000");
    const stateCookie = start.headers.getSetCookie()[0]?.split(";")[0] ?? "";
    const forged = await githubCallbackResponse(
      request(`${back.pathname}${back.search}`, { headers: { cookie: stateCookie } }),
    );
    expect(forged.headers.get("location")).toBe("/login?error=github_state");
    const noCookie = await githubCallbackResponse(request(`${back.pathname}${back.search}`));
    expect(noCookie.headers.get("location")).toBe("/login?error=github_state");
    expect((await rt.db.select().from(sessions)).length).toBe(before);
    const audit = await listAudit(rt.db, { limit: 20 });
    expect(
      audit.some(
        (e) =>
          e.action === "console.signin" &&
          e.result === "denied" &&
          String(e.details?.reason).includes("stranger"),
      ),
    ).toBe(true);
  });

  it("runs a console action only for a live session of the right role from the console's origin, audited", async () => {
    const operator = cookieOf(await login(keys.operator?.key ?? ""), COOKIE);
    const viewer = cookieOf(await login(keys.viewer?.key ?? ""), COOKIE);
    let ran = 0;
    const act = (headers: Record<string, string>) =>
      runConsoleAction(
        request("/sources/demo", { method: "POST", headers }),
        { role: "operator", action: "test.act", target: "demo" },
        async () => {
          ran++;
          return "done";
        },
      );
    expect(
      await act({ cookie: `${COOKIE}=${operator}`, origin: "https://evil.example" }),
    ).toMatchObject({ ok: false, status: 403, code: "csrf_failed" });
    expect(await act({ cookie: `${COOKIE}=${viewer}`, origin: ORIGIN })).toMatchObject({
      ok: false,
      status: 403,
      code: "forbidden",
    });
    expect(await act({ origin: ORIGIN })).toMatchObject({
      ok: false,
      status: 401,
      code: "signed_out",
    });
    expect(ran).toBe(0);
    expect(await act({ cookie: `${COOKIE}=${operator}`, origin: ORIGIN })).toEqual({
      ok: true,
      value: "done",
    });
    expect(ran).toBe(1);
    const entries = (await listAudit(rt.db, { limit: 10 })).filter((e) => e.action === "test.act");
    expect(entries.map((e) => e.result).sort()).toEqual(["denied", "denied", "ok"]);
  });
});
