import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * GitHub webhook signatures: `X-Hub-Signature-256: sha256=<64 hex>`, an HMAC-SHA256 of the raw
 * request body keyed with the webhook secret. Written on node:crypto rather than
 * @octokit/webhooks-methods, whose `verify` is async, takes the body only as a string (so the
 * raw bytes would be re-encoded) and throws on a missing signature.
 */
const HEADER = /^sha256=([0-9a-f]{64})$/i;

/**
 * True only when `header` is a well-formed signature of exactly these bytes under `secret`.
 * A missing or malformed header is false (never a throw); the comparison is constant-time
 * over two 32-byte digests. Sign the bytes as received: a re-serialised JSON body will not match.
 */
export function verifyGitHubSignature(
  secret: string,
  rawBody: Uint8Array | string,
  header: string | null | undefined,
): boolean {
  if (typeof secret !== "string" || secret.length === 0) {
    // A configuration error, not a bad request: refuse loudly rather than accept or reject all.
    throw new Error("verifyGitHubSignature: the webhook secret is empty");
  }
  if (typeof header !== "string") return false;
  const match = HEADER.exec(header.trim());
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1], "hex");
  const body = typeof rawBody === "string" ? Buffer.from(rawBody, "utf8") : rawBody;
  const expected = createHmac("sha256", secret).update(body).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The header value GitHub would send for this body (for tests and replay tools). */
export function signGitHubPayload(secret: string, rawBody: Uint8Array | string): string {
  const body = typeof rawBody === "string" ? Buffer.from(rawBody, "utf8") : rawBody;
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}
