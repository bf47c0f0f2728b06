import { cookies, headers } from "next/headers";
import { forbidden, redirect } from "next/navigation";
import { cache } from "react";
import { verifyApiKey } from "../../lib/auth/api-keys";
import { type Role, roleAllows } from "../../lib/auth/roles";
import { type SessionIdentity, verifySession } from "../../lib/auth/sessions";
import { bearerToken, countAuthFailure } from "../../lib/http/authenticate";
import { sessionCookieName } from "../../lib/http/session-cookie";
import { getRuntime, type Runtime } from "../../lib/runtime";

/** The header proxy.ts sets on every page request: the path and query the browser asked for. */
export const PATH_HEADER = "x-ballast-path";

/** The path (with query) of the page being rendered, for "sign in and come back here". */
export async function currentPath(): Promise<string> {
  const value = (await headers()).get(PATH_HEADER);
  return value?.startsWith("/") && !value.startsWith("//") ? value : "/";
}

export interface Viewer extends SessionIdentity {
  runtime: Runtime;
}

/**
 * The signed-in operator of this request (once per request): the session cookie, or — for a
 * script reading a page — an `Authorization: Bearer` API key, exactly as the admin API takes it.
 */
export const currentViewer = cache(async (): Promise<Viewer | null> => {
  const runtime = await getRuntime();
  const request = new Request("http://console.invalid", { headers: await headers() });
  const presented = bearerToken(request);
  if (presented) {
    const key = await verifyApiKey(runtime.db, presented);
    if (!key) {
      // A wrong key counts against the address's failed-authentication budget, as on the API.
      await countAuthFailure(runtime, request).catch(() => undefined);
      return null;
    }
    return {
      runtime,
      sessionId: "",
      kind: "key",
      name: key.name,
      role: key.role,
      keyId: key.id,
      keyPrefix: key.prefix,
      expiresAt: new Date(8.64e15),
    };
  }
  const token = (await cookies()).get(sessionCookieName(runtime.config.console))?.value;
  if (!token) return null;
  const session = await verifySession(runtime.db, token);
  return session ? { ...session, runtime } : null;
});

/**
 * Every console page starts here: no live session → the login page (and back here after),
 * a role too low → the 403 page.
 */
export async function requirePage(role: Role): Promise<Viewer> {
  const viewer = await currentViewer();
  if (!viewer) {
    const hadCookie = (await cookies()).getAll().some((c) => c.name.endsWith("ballast_session"));
    const next = await currentPath();
    const query = new URLSearchParams();
    if (next !== "/") query.set("next", next);
    if (hadCookie) query.set("reason", "expired");
    const text = query.toString();
    redirect(text ? `/login?${text}` : "/login");
  }
  if (!roleAllows(viewer.role, role)) forbidden();
  return viewer;
}

export function can(viewer: { role: Role }, role: Role): boolean {
  return roleAllows(viewer.role, role);
}
