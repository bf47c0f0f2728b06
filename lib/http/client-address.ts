import { subscribe } from "node:diagnostics_channel";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import ipaddr from "ipaddr.js";

/**
 * The one answer to "who is calling": the address rate limits and the audit log key on.
 *
 * Forwarding headers are believed only from proxies the configuration names (TRUSTED_PROXIES):
 * - `vercel`: Vercel's edge overwrites x-forwarded-for / x-real-ip with the client's address and
 *   adds x-vercel-forwarded-for (which a proxy in front of Vercel cannot overwrite); those
 *   headers are used, in that order of preference;
 * - a list of addresses/CIDRs: starting from the connection's own peer, each hop that is a
 *   trusted proxy hands over to the address it forwarded for (x-forwarded-for, right to left);
 *   the first untrusted hop is the client;
 * - nothing configured: the connection's peer, whatever the headers say.
 *
 * Next.js route handlers do not see the socket, and `next start` keeps a client's own
 * x-forwarded-for when one is sent. So the server stamps every incoming request with its
 * peer address (PEER_HEADER) from Node's `http.server.request.start` diagnostics channel,
 * overwriting any value a client sent; without that stamp (no Node server, e.g. a handler
 * called directly) the peer is "unknown", and all such callers share one limit.
 */
export const PEER_HEADER = "x-ballast-peer";

export type TrustedProxies = "vercel" | readonly string[];

const state = globalThis as unknown as { __ballastPeerStamp?: boolean };

/** Stamps each request this process's HTTP servers receive with its socket's peer address. */
export function installPeerAddressStamp(): void {
  if (state.__ballastPeerStamp) return;
  subscribe("http.server.request.start", (message) => {
    const { request, socket } = message as { request: IncomingMessage; socket: Socket };
    request.headers[PEER_HEADER] = socket.remoteAddress ?? "";
    // rawHeaders too, in case the framework rebuilds headers from them: drop any sent copy.
    const raw = request.rawHeaders;
    for (let i = raw.length - 2; i >= 0; i -= 2)
      if (raw[i]?.toLowerCase() === PEER_HEADER) raw.splice(i, 2);
    raw.push(PEER_HEADER, socket.remoteAddress ?? "");
  });
  state.__ballastPeerStamp = true;
}

export function peerStampInstalled(): boolean {
  return state.__ballastPeerStamp === true;
}

/** An address in canonical form (IPv4-mapped IPv6 as IPv4), or undefined when not an address. */
function canonical(value: string | undefined | null): string | undefined {
  const trimmed = value?.trim().replace(/^\[|\]$/g, "");
  if (!trimmed || !ipaddr.isValid(trimmed) || !/^[0-9a-f:.]+$/i.test(trimmed)) return undefined;
  return ipaddr.process(trimmed).toString();
}

function firstOf(header: string | null): string | undefined {
  return canonical(header?.split(",")[0]);
}

function isTrusted(address: string, proxies: readonly string[]): boolean {
  const parsed = ipaddr.process(address);
  return proxies.some((entry) => {
    try {
      if (ipaddr.isValidCIDR(entry)) {
        const [network, bits] = ipaddr.parseCIDR(entry);
        return network.kind() === parsed.kind() && parsed.match(network, bits);
      }
      return canonical(entry) === parsed.toString();
    } catch {
      return false;
    }
  });
}

export function clientAddress(request: Request, trusted: TrustedProxies): string {
  const headers = request.headers;
  if (trusted === "vercel")
    return (
      firstOf(headers.get("x-vercel-forwarded-for")) ??
      firstOf(headers.get("x-real-ip")) ??
      firstOf(headers.get("x-forwarded-for")) ??
      "unknown"
    );
  const peer = peerStampInstalled() ? canonical(headers.get(PEER_HEADER)) : undefined;
  if (!peer) return "unknown";
  if (trusted.length === 0) return peer;
  const hops = (headers.get("x-forwarded-for") ?? "").split(",").map((h) => h.trim());
  let client = peer;
  while (isTrusted(client, trusted)) {
    const next = hops.pop();
    if (next === undefined) break;
    const address = canonical(next);
    if (!address) break; // a malformed hop: stop at the last trusted one
    client = address;
  }
  return client;
}

/**
 * The key rate limits count under: the address, with IPv6 widened to its /64 (one host
 * usually holds a whole /64, and rotating within it must not escape the limit).
 */
export function rateLimitKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() !== "ipv6") return parsed.toString();
  const bytes = parsed.toByteArray().slice(0, 8);
  return `${ipaddr.fromByteArray([...bytes, 0, 0, 0, 0, 0, 0, 0, 0]).toString()}/64`;
}
