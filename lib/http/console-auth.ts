import { randomUUID, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { verifyApiKey } from "../auth/api-keys";
import { recordAudit, recordDenial } from "../auth/audit";
import { beginGitHubSignIn, completeGitHubSignIn } from "../auth/github-signin";
import { createSession, endSession, pruneSessions, verifySession } from "../auth/sessions";
import { BallastError } from "../errors";
import { getRuntime, type Runtime } from "../runtime";
import { callerAddress, countAuthFailure } from "./authenticate";
import { rateLimitKey } from "./client-address";
import { checkSameOrigin, expectedOrigin } from "./csrf";
import { errorResponse, readTextBody } from "./respond";
import {
  clearedSessionCookie,
  oauthStateCookieName,
  readCookie,
  serializeCookie,
  sessionCookie,
  sessionTokenOf,
} from "./session-cookie";

/**
 * The console's sign-in and sign-out endpoints (app/auth/*): an API key exchanged for a
 * session, GitHub's OAuth flow, sign-out. Each ends in a redirect a browser follows; failures
 * go back to the login page with a reason, never a blank screen.
 */

/** A path on this site to return to after sign-in: relative, no scheme, no `//host`. */
export function safeNext(value: string | null | undefined): string {
  if (!value || value.length > 2000) return "/";
  if (!value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return "/";
  if ([...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f || c === "\\"))
    return "/";
  if (value.startsWith("/login") || value.startsWith("/auth/")) return "/";
  return value;
}

function redirect(location: string, status = 303, cookies: string[] = []): Response {
  const headers = new Headers({ location, "cache-control": "no-store" });
  for (const cookie of cookies) headers.append("set-cookie", cookie);
  return new Response(null, { status, headers });
}

function loginUrl(params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) query.set(name, value);
  const text = query.toString();
  return text ? `/login?${text}` : "/login";
}

function audit(runtime: Runtime, entry: Parameters<typeof recordAudit>[1]) {
  return recordAudit(runtime.db, entry).catch((error) =>
    runtime.log.error({ err: error }, "audit write failed"),
  );
}

const loginForm = z.object({
  key: z.string().trim().min(1, "enter an API key").max(200, "that is not an API key"),
  next: z.string().max(2000).optional(),
});

/** POST /auth/login — form fields `key` and `next`. */
export async function keyLoginResponse(request: Request): Promise<Response> {
  let runtime: Runtime | undefined;
  try {
    runtime = await getRuntime();
    checkSameOrigin(
      request.headers,
      request.url,
      runtime.config.console,
      runtime.config.security.trustedProxies,
    );
    const form = new URLSearchParams(await readTextBody(request, 8 * 1024));
    const parsed = loginForm.safeParse({
      key: form.get("key") ?? "",
      next: form.get("next") ?? undefined,
    });
    const next = safeNext(form.get("next"));
    if (!parsed.success)
      return redirect(loginUrl({ error: "missing", next: next === "/" ? undefined : next }));
    const requestId = request.headers.get("x-request-id") ?? randomUUID();
    const key = await verifyApiKey(runtime.db, parsed.data.key);
    if (!key) {
      const client = callerAddress(runtime, request);
      await recordDenial(runtime.db, runtime.redis.kv("audit"), rateLimitKey(client), {
        actor: "anonymous",
        action: "console.signin",
        result: "denied",
        status: 401,
        details: { method: "key", reason: "invalid or revoked key", client },
        requestId,
      }).catch((error) => runtime?.log.error({ err: error }, "audit write failed"));
      let reason = "invalid";
      try {
        await countAuthFailure(runtime, request);
      } catch (error) {
        if (error instanceof BallastError && error.status === 429) reason = "rate_limited";
      }
      return redirect(loginUrl({ error: reason, next: next === "/" ? undefined : next }));
    }
    const session = await createSession(
      runtime.db,
      { kind: "key", keyId: key.id, role: key.role },
      {
        ttlMs: runtime.config.console.sessionTtlMs,
        client: callerAddress(runtime, request),
        userAgent: request.headers.get("user-agent"),
      },
    );
    await audit(runtime, {
      actor: key.name,
      actorKeyId: key.id,
      action: "console.signin",
      target: session.id,
      result: "ok",
      status: 303,
      details: { method: "key", role: key.role },
      requestId,
    });
    await pruneSessions(runtime.db).catch(() => 0);
    return redirect(next, 303, [
      sessionCookie(runtime.config.console, session.token, session.expiresAt),
    ]);
  } catch (error) {
    return errorResponse(error, runtime?.log);
  }
}

/** POST /auth/logout — ends the session and clears its cookie. */
export async function logoutResponse(request: Request): Promise<Response> {
  let runtime: Runtime | undefined;
  try {
    runtime = await getRuntime();
    checkSameOrigin(
      request.headers,
      request.url,
      runtime.config.console,
      runtime.config.security.trustedProxies,
    );
    const token = sessionTokenOf(request, runtime.config.console);
    const session = token ? await verifySession(runtime.db, token) : null;
    const ended = token ? await endSession(runtime.db, token) : false;
    if (ended)
      await audit(runtime, {
        actor: session?.name ?? "session",
        actorKeyId: session?.keyId ?? null,
        target: session?.sessionId ?? null,
        action: "console.signout",
        result: "ok",
        status: 303,
        requestId: request.headers.get("x-request-id") ?? randomUUID(),
      });
    return redirect(loginUrl({ signed_out: "1" }), 303, [
      clearedSessionCookie(runtime.config.console),
    ]);
  } catch (error) {
    return errorResponse(error, runtime?.log);
  }
}

const OAUTH_STATE_TTL_SECONDS = 600;
const stateCookie = z.object({
  state: z.string().min(16).max(200),
  verifier: z.string().min(43).max(200),
  next: z.string().max(2000),
});

function consoleOrigin(runtime: Runtime, request: Request): string {
  return expectedOrigin(
    request.headers,
    request.url,
    runtime.config.console,
    runtime.config.security.trustedProxies,
  );
}

/** GET /auth/github — starts GitHub sign-in (404 when it is not configured). */
export async function githubStartResponse(request: Request): Promise<Response> {
  let runtime: Runtime | undefined;
  try {
    runtime = await getRuntime();
    const github = runtime.config.console.github;
    if (!github) return redirect(loginUrl({ error: "github_off" }));
    const next = safeNext(new URL(request.url).searchParams.get("next"));
    const start = beginGitHubSignIn(
      github,
      `${consoleOrigin(runtime, request)}/auth/github/callback`,
    );
    const value = Buffer.from(
      JSON.stringify({ state: start.state, verifier: start.codeVerifier, next }),
    ).toString("base64url");
    return redirect(start.url, 302, [
      serializeCookie(oauthStateCookieName(runtime.config.console), value, {
        maxAgeSeconds: OAUTH_STATE_TTL_SECONDS,
        sameSite: "Lax",
        secure: runtime.config.console.secureCookies,
        path: "/auth/github",
      }),
    ]);
  } catch (error) {
    return errorResponse(error, runtime?.log);
  }
}

function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * GET /auth/github/callback — GitHub sends the browser back here. The session cookie is set on
 * a 200 page that moves on to the destination itself: the browser arrived from GitHub (a
 * cross-site navigation), so a redirect from here would still be cross-site and the
 * SameSite=Strict cookie would not be sent with it; the page's own navigation is same-site.
 */
export async function githubCallbackResponse(request: Request): Promise<Response> {
  let runtime: Runtime | undefined;
  try {
    runtime = await getRuntime();
    const github = runtime.config.console.github;
    const consoleSettings = runtime.config.console;
    const clearState = serializeCookie(oauthStateCookieName(consoleSettings), "", {
      maxAgeSeconds: 0,
      expires: new Date(0),
      sameSite: "Lax",
      secure: consoleSettings.secureCookies,
      path: "/auth/github",
    });
    if (!github) return redirect(loginUrl({ error: "github_off" }));
    const params = new URL(request.url).searchParams;
    const raw = readCookie(request.headers.get("cookie"), oauthStateCookieName(consoleSettings));
    let saved: z.infer<typeof stateCookie> | undefined;
    try {
      saved = raw
        ? stateCookie.parse(JSON.parse(Buffer.from(raw, "base64url").toString("utf8")))
        : undefined;
    } catch {
      saved = undefined;
    }
    const state = params.get("state") ?? "";
    const code = params.get("code") ?? "";
    const requestId = request.headers.get("x-request-id") ?? randomUUID();
    if (params.get("error"))
      return redirect(loginUrl({ error: "github_denied" }), 303, [clearState]);
    if (!saved || !state || !code || !sameString(saved.state, state))
      return redirect(loginUrl({ error: "github_state" }), 303, [clearState]);
    const next = safeNext(saved.next);
    let member: Awaited<ReturnType<typeof completeGitHubSignIn>>;
    try {
      member = await completeGitHubSignIn(github, runtime.config.github.apiUrl, {
        code,
        codeVerifier: saved.verifier,
        redirectUri: `${consoleOrigin(runtime, request)}/auth/github/callback`,
      });
    } catch (error) {
      if (!(error instanceof BallastError)) throw error;
      await audit(runtime, {
        actor: "anonymous",
        action: "console.signin",
        result: "denied",
        status: error.status,
        details: {
          method: "github",
          reason: error.message,
          client: callerAddress(runtime, request),
        },
        requestId,
      });
      const reason =
        error.status === 403
          ? "github_not_allowed"
          : error.status === 503
            ? "github_unavailable"
            : "github_failed";
      return redirect(loginUrl({ error: reason }), 303, [clearState]);
    }
    const session = await createSession(
      runtime.db,
      { kind: "github", login: member.login, githubId: member.id, role: member.role },
      {
        ttlMs: consoleSettings.sessionTtlMs,
        client: callerAddress(runtime, request),
        userAgent: request.headers.get("user-agent"),
      },
    );
    await audit(runtime, {
      actor: `github:${member.login}`,
      action: "console.signin",
      target: session.id,
      result: "ok",
      status: 200,
      details: { method: "github", role: member.role },
      requestId,
    });
    const target = escapeHtml(next);
    const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${target}"><title>Signed in — Ballast</title></head><body><p>Signed in as ${escapeHtml(member.login)}. <a href="${target}">Continue to the console</a>.</p></body></html>`;
    const headers = new Headers({
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
    });
    headers.append("set-cookie", sessionCookie(consoleSettings, session.token, session.expiresAt));
    headers.append("set-cookie", clearState);
    return new Response(body, { status: 200, headers });
  } catch (error) {
    return errorResponse(error, runtime?.log);
  }
}
