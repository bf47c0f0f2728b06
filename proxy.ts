import { type NextRequest, NextResponse } from "next/server";
import { getConfig } from "./lib/config";
import { runningNextDev } from "./lib/config/env";
import { contentSecurityPolicy, newNonce, securityHeaders } from "./lib/http/security-headers";

/**
 * Runs before every request (Next.js Proxy, Node.js runtime): a per-request CSP nonce and
 * the security headers (lib/http/security-headers.ts). The machine endpoints whose bodies
 * must reach their handlers untouched — the GitHub webhook (signed, up to
 * WEBHOOK_MAX_BODY_BYTES) and the Inngest endpoint — are left out: Proxy buffers request
 * bodies. Their responses get the same headers from the handlers (lib/http/respond.ts).
 */
export function proxy(request: NextRequest): NextResponse {
  const nonce = newNonce();
  const csp = contentSecurityPolicy({ nonce, allowEval: runningNextDev() });
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("content-security-policy", csp);
  // The console's pages read the path they were asked for (sign in, then come back to it).
  requestHeaders.set("x-ballast-path", `${request.nextUrl.pathname}${request.nextUrl.search}`);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("content-security-policy", csp);
  for (const [name, value] of Object.entries(securityHeaders({ hsts: hstsWanted() })))
    response.headers.set(name, value);
  return response;
}

function hstsWanted(): boolean {
  try {
    return getConfig().mode !== "development";
  } catch {
    return true; // a broken configuration stops the server at start; meanwhile, be strict
  }
}

export const config = {
  matcher: ["/((?!api/webhooks|api/inngest|inngest).*)"],
};
