import type { ConsoleConfig } from "../config/schema";

/**
 * The console's cookies. The session cookie is HttpOnly, SameSite=Strict, Secure outside
 * development (and then named with the `__Host-` prefix, which browsers accept only from a
 * secure origin, on path /, without a Domain — so no sibling host can plant or read it), with
 * an expiry equal to the session's. The GitHub sign-in state cookie is SameSite=Lax: it must
 * come back on the top-level redirect from GitHub, which is a cross-site navigation.
 */

type CookieSettings = Pick<ConsoleConfig, "secureCookies">;

export function sessionCookieName(config: CookieSettings): string {
  return config.secureCookies ? "__Host-ballast_session" : "ballast_session";
}

/** `__Secure-`, not `__Host-`: this cookie is scoped to /auth/github, and `__Host-` requires Path=/. */
export function oauthStateCookieName(config: CookieSettings): string {
  return config.secureCookies ? "__Secure-ballast_oauth" : "ballast_oauth";
}

export interface CookieOptions {
  expires?: Date;
  maxAgeSeconds?: number;
  sameSite: "Strict" | "Lax";
  secure: boolean;
  path?: string;
}

/** A Set-Cookie value; the value must already be cookie-safe (base64url, JSON is encoded). */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, `Path=${options.path ?? "/"}`];
  if (options.expires) parts.push(`Expires=${options.expires.toUTCString()}`);
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${options.maxAgeSeconds}`);
  parts.push("HttpOnly", `SameSite=${options.sameSite}`);
  if (options.secure) parts.push("Secure");
  return parts.join("; ");
}

export function sessionCookie(config: CookieSettings, token: string, expires: Date): string {
  return serializeCookie(sessionCookieName(config), token, {
    expires,
    maxAgeSeconds: Math.max(0, Math.floor((expires.getTime() - Date.now()) / 1000)),
    sameSite: "Strict",
    secure: config.secureCookies,
  });
}

export function clearedSessionCookie(config: CookieSettings): string {
  return serializeCookie(sessionCookieName(config), "", {
    expires: new Date(0),
    maxAgeSeconds: 0,
    sameSite: "Strict",
    secure: config.secureCookies,
  });
}

/** The value of one cookie in a Cookie header, or undefined. */
export function readCookie(header: string | null | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const index = part.indexOf("=");
    if (index < 0) continue;
    if (part.slice(0, index).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(index + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function sessionTokenOf(request: Request, config: CookieSettings): string | undefined {
  return readCookie(request.headers.get("cookie"), sessionCookieName(config));
}
