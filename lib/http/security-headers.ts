import { randomBytes } from "node:crypto";

/**
 * Security headers for every response the app serves to a browser:
 * - a Content-Security-Policy with a fresh nonce per request and no 'unsafe-inline' for
 *   scripts: Next.js reads the nonce from the request's CSP header and puts it on its own
 *   inline and bundle scripts ('strict-dynamic' lets those load the chunks they need);
 * - frame-ancestors 'none' (no framing, with X-Frame-Options for old browsers), nosniff,
 *   a referrer policy, and HSTS outside development (the app is served over https there).
 */
export function newNonce(): string {
  return randomBytes(18).toString("base64");
}

export interface CspOptions {
  nonce: string;
  /** `next dev` only: React's dev tooling needs eval. Never for `next start`. */
  allowEval?: boolean;
}

export function contentSecurityPolicy({ nonce, allowEval }: CspOptions): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${allowEval ? " 'unsafe-eval'" : ""}`,
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** The headers besides the CSP; HSTS only when the app is not in development. */
export function securityHeaders(options: { hsts: boolean }): Record<string, string> {
  return {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    // same-origin, not no-referrer: nothing leaves for other sites either way, but under
    // no-referrer browsers send `Origin: null` with the console's own form posts and server
    // actions, which the same-origin checks (Next.js's and lib/http/csrf.ts) must refuse.
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    ...(options.hsts ? { "strict-transport-security": "max-age=63072000; includeSubDomains" } : {}),
  };
}

/** For machine endpoints that Proxy leaves out (webhook, Inngest): JSON, never a page. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/** The response with the security headers of a JSON API answer added. */
export function withSecurityHeaders(response: Response, options: { hsts: boolean }): Response {
  const headers = new Headers(response.headers);
  if (!headers.has("content-security-policy")) headers.set("content-security-policy", API_CSP);
  for (const [name, value] of Object.entries(securityHeaders(options))) headers.set(name, value);
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}
