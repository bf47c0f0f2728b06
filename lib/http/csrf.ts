import type { ConsoleConfig, SecurityConfig } from "../config/schema";

type TrustedProxiesSetting = SecurityConfig["trustedProxies"];

import { ForbiddenError } from "../errors";

/**
 * Cross-site request forgery: a request that changes something with the browser's session
 * cookie must come from the console itself. The session cookie is SameSite=Strict (a browser
 * does not send it with a request another site starts); on top of that the request's Origin
 * must be the console's (CONSOLE_ORIGIN, else the Host it was sent to), or, from a browser that
 * sends no Origin, Sec-Fetch-Site must say same-origin. Requests with a Bearer key carry no
 * ambient credential and are not checked.
 */
export class CsrfError extends ForbiddenError {
  constructor(reason: string) {
    super(`cross-site request refused: ${reason}`);
    Object.defineProperty(this, "code", { value: "csrf_failed" });
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method.toUpperCase());
}

/** The origin the console is served at, as far as this request can tell. */
export function expectedOrigin(
  headers: Headers,
  requestUrl: string,
  config: Pick<ConsoleConfig, "origin">,
  trustedProxies: TrustedProxiesSetting,
): string {
  if (config.origin) return config.origin;
  const forwardedHost =
    trustedProxies === "vercel" || trustedProxies.length > 0
      ? headers.get("x-forwarded-host")?.split(",")[0]?.trim()
      : undefined;
  const forwardedProto =
    trustedProxies === "vercel" || trustedProxies.length > 0
      ? headers.get("x-forwarded-proto")?.split(",")[0]?.trim()
      : undefined;
  const url = new URL(requestUrl);
  const host = forwardedHost || headers.get("host") || url.host;
  const protocol = forwardedProto ? `${forwardedProto}:` : url.protocol;
  return `${protocol}//${host}`;
}

/** Throws CsrfError unless the request comes from the console's own pages. */
export function checkSameOrigin(
  headers: Headers,
  requestUrl: string,
  config: Pick<ConsoleConfig, "origin">,
  trustedProxies: TrustedProxiesSetting,
): void {
  const origin = headers.get("origin");
  // "null": an opaque origin, or a referrer policy that hides the origin; only the browser's
  // own Sec-Fetch-Site can then vouch for the request.
  if (origin !== null && origin !== "null") {
    const expected = expectedOrigin(headers, requestUrl, config, trustedProxies);
    if (origin !== expected) throw new CsrfError(`the request came from ${origin}`);
    return;
  }
  const site = headers.get("sec-fetch-site");
  if (site === "same-origin") return;
  if (site) throw new CsrfError(`the browser says it came from a ${site} page`);
  throw new CsrfError(
    origin === "null" ? "the request came from an opaque origin" : "the request names no Origin",
  );
}
