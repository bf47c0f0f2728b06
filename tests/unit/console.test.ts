import { describe, expect, it } from "vitest";
import { activeEntry } from "../../app/_ui/nav";
import { highlight } from "../../app/(console)/search/highlight";
import { roleFor } from "../../lib/auth/github-signin";
import { loadConfig } from "../../lib/config";
import { parseConfig, parseGitHubSubject } from "../../lib/config/schema";
import { safeNext } from "../../lib/http/console-auth";
import { CsrfError, checkSameOrigin } from "../../lib/http/csrf";
import { readCookie, sessionCookie, sessionCookieName } from "../../lib/http/session-cookie";

describe("GitHub allow-list", () => {
  it("parses user, org and team entries and names a bad one", () => {
    expect(parseGitHubSubject("user:OctoCat")).toEqual({ type: "user", login: "octocat" });
    expect(parseGitHubSubject("org:Acme")).toEqual({ type: "org", org: "acme" });
    expect(parseGitHubSubject("team:acme/Platform-Team")).toEqual({
      type: "team",
      org: "acme",
      team: "platform-team",
    });
    for (const bad of ["octocat", "team:acme", "user:-x", "team:a/b/c", "org:", "group:x"])
      expect(typeof parseGitHubSubject(bad), bad).toBe("string");
  });

  it("maps a user to the highest role any entry grants", () => {
    const roles = {
      admin: [{ type: "user" as const, login: "boss" }],
      operator: [{ type: "team" as const, org: "acme", team: "ops" }],
      viewer: [{ type: "org" as const, org: "acme" }],
    };
    expect(roleFor(roles, { login: "Boss", orgs: [], teams: [] })).toBe("admin");
    expect(roleFor(roles, { login: "x", orgs: ["acme"], teams: ["acme/ops"] })).toBe("operator");
    expect(roleFor(roles, { login: "x", orgs: ["ACME"], teams: [] })).toBe("viewer");
    expect(roleFor(roles, { login: "x", orgs: ["other"], teams: ["other/ops"] })).toBeUndefined();
  });

  it("validates the console settings: pairs, allow-list, session hours, https origin in production", () => {
    const base = { BALLAST_ENV: "development" };
    const problems = (env: Record<string, string>) => {
      const result = parseConfig({ ...base, ...env });
      return result.ok ? [] : result.problems.map((p) => p.variable);
    };
    expect(problems({ GITHUB_OAUTH_CLIENT_ID: "x" })).toContain("GITHUB_OAUTH_CLIENT_SECRET");
    expect(problems({ GITHUB_OAUTH_CLIENT_ID: "x", GITHUB_OAUTH_CLIENT_SECRET: "y" })).toContain(
      "GITHUB_SIGNIN_ADMINS",
    );
    expect(problems({ GITHUB_SIGNIN_VIEWERS: "acme" })).toContain("GITHUB_SIGNIN_VIEWERS");
    expect(problems({ CONSOLE_SESSION_HOURS: "0" })).toContain("CONSOLE_SESSION_HOURS");
    const config = loadConfig({
      ...base,
      GITHUB_OAUTH_CLIENT_ID: "x",
      GITHUB_OAUTH_CLIENT_SECRET: "sekrit-value",
      GITHUB_SIGNIN_OPERATORS: "org:acme, team:acme/sre",
      CONSOLE_SESSION_HOURS: "2",
    });
    expect(config.console.sessionTtlMs).toBe(2 * 3600_000);
    expect(config.console.secureCookies).toBe(false);
    expect(config.console.github?.oauthUrl).toBe("https://github.com");
    expect(config.console.github?.roles.operator).toHaveLength(2);
    expect(config.secrets).toContain("sekrit-value");
    expect(loadConfig({ BALLAST_ENV: "test" }).console.secureCookies).toBe(true);
  });
});

describe("cookies, redirects and origins", () => {
  it("reads one cookie among many and names it __Host- only when Secure", () => {
    expect(readCookie("a=1; ballast_session=abc%3D; b=2", "ballast_session")).toBe("abc=");
    expect(readCookie("xballast_session=1", "ballast_session")).toBeUndefined();
    expect(sessionCookieName({ secureCookies: true })).toBe("__Host-ballast_session");
    const cookie = sessionCookie({ secureCookies: false }, "tok", new Date(Date.now() + 60_000));
    expect(cookie).toMatch(
      /^ballast_session=tok; Path=\/; Expires=.*; Max-Age=(59|60); HttpOnly; SameSite=Strict$/,
    );
    // Browsers accept a __Host- cookie only with Secure, Path=/ and no Domain.
    const secure = sessionCookie({ secureCookies: true }, "tok", new Date(Date.now() + 60_000));
    expect(secure).toMatch(
      /^__Host-ballast_session=tok; Path=\/; .*; HttpOnly; SameSite=Strict; Secure$/,
    );
    expect(secure).not.toMatch(/Domain=/i);
  });

  it("keeps the return path on this site", () => {
    expect(safeNext("/runs?status=failed")).toBe("/runs?status=failed");
    for (const bad of [
      null,
      "",
      "runs",
      "//evil.example",
      "/\\evil",
      "https://evil.example",
      "/a\nb",
      "/login",
      "/auth/x",
    ])
      expect(safeNext(bad), String(bad)).toBe("/");
  });

  it("accepts the console's own origin only", () => {
    const check = (
      headers: Record<string, string>,
      origin?: string,
      proxies: "vercel" | string[] = [],
    ) => checkSameOrigin(new Headers(headers), "http://127.0.0.1:3000/x", { origin }, proxies);
    expect(() => check({ host: "127.0.0.1:3000", origin: "http://127.0.0.1:3000" })).not.toThrow();
    expect(() => check({ host: "127.0.0.1:3000", "sec-fetch-site": "same-origin" })).not.toThrow();
    expect(() => check({ host: "127.0.0.1:3000", origin: "http://127.0.0.1:3001" })).toThrow(
      CsrfError,
    );
    expect(() => check({ host: "127.0.0.1:3000" })).toThrow(/names no Origin/);
    // Origin "null" (opaque, or hidden by a referrer policy) passes only on the browser's word.
    expect(() => check({ host: "127.0.0.1:3000", origin: "null" })).toThrow(/opaque origin/);
    expect(() =>
      check({ host: "127.0.0.1:3000", origin: "null", "sec-fetch-site": "cross-site" }),
    ).toThrow(CsrfError);
    expect(() =>
      check({ host: "127.0.0.1:3000", origin: "null", "sec-fetch-site": "same-origin" }),
    ).not.toThrow();
    expect(() =>
      check({ host: "a.example", origin: "https://console.example" }, "https://console.example"),
    ).not.toThrow();
    expect(() =>
      check(
        { host: "console.example", origin: "http://console.example" },
        "https://console.example",
      ),
    ).toThrow(CsrfError);
    // Forwarded host/proto are believed only from trusted proxies.
    const forwarded = {
      host: "10.0.0.5:3000",
      "x-forwarded-host": "console.example",
      "x-forwarded-proto": "https",
      origin: "https://console.example",
    };
    expect(() => check(forwarded, undefined, ["10.0.0.0/8"])).not.toThrow();
    expect(() => check(forwarded, undefined, [])).toThrow(CsrfError);
  });
});

describe("console UI helpers", () => {
  it("marks query words in a snippet, identifiers split, case-insensitive", () => {
    expect(highlight("verifyWebhookSignature(secret)", "webhook secret")).toEqual([
      { text: "verify", match: false },
      { text: "Webhook", match: true },
      { text: "Signature(", match: false },
      { text: "secret", match: true },
      { text: ")", match: false },
    ]);
    expect(highlight("a.b(c)", "(*)")).toEqual([{ text: "a.b(c)", match: false }]);
  });

  it("finds the navigation entry of a nested page", () => {
    expect(activeEntry("/sources/demo/remove")?.href).toBe("/sources");
    expect(activeEntry("/")?.href).toBe("/");
    expect(activeEntry("/runs?status=failed")?.href).toBe("/runs");
  });
});
