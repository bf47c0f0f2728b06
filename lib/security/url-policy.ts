import { lookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";
import { BallastError } from "../errors";

/**
 * The policy for every outbound request to a URL a user supplied (git remotes today, alert
 * webhooks tomorrow): which schemes, and which addresses the host may resolve to. Private,
 * loopback, link-local, carrier-grade NAT, multicast, reserved and unspecified addresses are
 * refused — in any notation (IPv4-mapped IPv6, NAT64, 6to4, decimal or hex IPv4 literals all
 * resolve to an address that is checked) — unless the configuration allows them.
 *
 * Check at the moment of use: a name that resolved to a public address when a source was
 * added may resolve to 127.0.0.1 later (DNS rebinding), so the caller checks again before
 * each fetch and, where it can, pins the connection to the addresses checked here.
 */
export interface UrlPolicy {
  /** Schemes allowed, without the colon, e.g. ["https"]. */
  schemes: readonly string[];
  /** Host names (exact, case-insensitive), addresses or CIDRs allowed even when not public. */
  allowHosts: readonly string[];
  /** Allow every non-public address (development convenience; never in production). */
  allowPrivate: boolean;
}

/** The safe default: https to public addresses only. */
export const DEFAULT_URL_POLICY: UrlPolicy = Object.freeze({
  schemes: Object.freeze(["https"]),
  allowHosts: Object.freeze([]),
  allowPrivate: false,
});

/** Resolves a host name to its addresses (tests inject one; the default asks the system resolver). */
export type Resolver = (host: string) => Promise<string[]>;

export const systemResolver: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** A URL refused by the outbound policy (422: the input is the problem, retrying will not help). */
export class OutboundUrlError extends BallastError {
  constructor(message: string) {
    super("url_not_allowed", message, 422, false, [{ path: "url", message }]);
  }
}

export interface CheckedUrl {
  /** The scheme without the colon. */
  scheme: string;
  /** Host name as written (lower-cased, IPv6 without brackets). */
  host: string;
  /** The port, or undefined for the scheme's default. */
  port: number | undefined;
  /** Every address the host resolved to, all allowed. */
  addresses: string[];
}

const DEFAULT_PORTS: Record<string, number> = { https: 443, http: 80, ssh: 22, git: 9418 };

/** What kind of address this is: "public" or the name of the non-public range it lies in. */
export function addressRange(address: string): string {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return "invalid";
  }
  if (parsed.kind() === "ipv6") {
    const v6 = parsed as ipaddr.IPv6;
    const range = v6.range();
    // Forms that carry an IPv4 address inside: judge the embedded address.
    if (range === "ipv4Mapped") return addressRange(v6.toIPv4Address().toString());
    if (range === "rfc6052" || range === "rfc6145") {
      const bytes = v6.toByteArray().slice(12);
      return addressRange(ipaddr.fromByteArray(bytes).toString());
    }
    if (range === "6to4") {
      const bytes = v6.toByteArray().slice(2, 6);
      return addressRange(ipaddr.fromByteArray(bytes).toString());
    }
    return range === "unicast" ? "public" : range;
  }
  const range = (parsed as ipaddr.IPv4).range();
  return range === "unicast" ? "public" : range;
}

function listedAddress(address: string, allow: readonly string[]): boolean {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(address);
  } catch {
    return false;
  }
  for (const entry of allow) {
    try {
      if (ipaddr.isValidCIDR(entry)) {
        const [network, bits] = ipaddr.parseCIDR(entry);
        if (network.kind() === parsed.kind() && parsed.match([network, bits] as never)) return true;
      } else if (ipaddr.isValid(entry) && ipaddr.process(entry).toString() === parsed.toString()) {
        return true;
      }
    } catch {
      // an entry of another family; not a match
    }
  }
  return false;
}

/** Host, port and scheme of a URL or of git's scp-like `user@host:path`. */
export function urlParts(value: string): {
  scheme: string;
  host: string;
  port: number | undefined;
} {
  const scp = /^[^/@:\s]+@([^/:\s]+):(?!\/\/)/.exec(value);
  if (scp?.[1] && !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    return { scheme: "ssh", host: scp[1].toLowerCase(), port: undefined };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new OutboundUrlError("not a valid URL");
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  const normalisedScheme = scheme === "git+ssh" || scheme === "ssh+git" ? "ssh" : scheme;
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (!host) throw new OutboundUrlError("the URL has no host");
  return {
    scheme: normalisedScheme,
    host,
    port: url.port === "" ? undefined : Number(url.port),
  };
}

/**
 * Checks a user-supplied URL against the policy and returns the addresses it may use.
 * Throws OutboundUrlError naming the reason (scheme, or the kind of address) otherwise.
 * A DNS failure is a refusal too: a host that does not resolve cannot be checked.
 */
export async function checkOutboundUrl(
  value: string,
  policy: UrlPolicy,
  resolve: Resolver = systemResolver,
): Promise<CheckedUrl> {
  const { scheme, host, port } = urlParts(value);
  if (!policy.schemes.includes(scheme))
    throw new OutboundUrlError(
      `the ${scheme} scheme is not allowed here (allowed: ${policy.schemes.join(", ")})`,
    );
  const hostListed = policy.allowHosts.includes(host);
  let addresses: string[];
  if (ipaddr.isValid(host) && /^[0-9a-f:.]+$/i.test(host))
    addresses = [ipaddr.parse(host).toString()];
  else {
    try {
      addresses = await resolve(host);
    } catch {
      throw new OutboundUrlError(`the host ${host} could not be resolved`);
    }
    if (addresses.length === 0) throw new OutboundUrlError(`the host ${host} has no address`);
  }
  if (!hostListed && !policy.allowPrivate) {
    for (const address of addresses) {
      const range = addressRange(address);
      if (range !== "public" && !listedAddress(address, policy.allowHosts)) {
        throw new OutboundUrlError(
          `${host} resolves to a ${describeRange(range)} address (${address}); outbound requests to it are refused (allow it with OUTBOUND_ALLOW_HOSTS)`,
        );
      }
    }
  }
  return { scheme, host, port: port ?? DEFAULT_PORTS[scheme], addresses };
}

function describeRange(range: string): string {
  switch (range) {
    case "loopback":
      return "loopback";
    case "private":
    case "uniqueLocal":
      return "private";
    case "linkLocal":
      return "link-local";
    case "carrierGradeNat":
      return "carrier-grade NAT";
    case "multicast":
      return "multicast";
    case "unspecified":
      return "unspecified";
    case "broadcast":
      return "broadcast";
    default:
      return `non-public (${range})`;
  }
}
