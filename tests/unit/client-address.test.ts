import { describe, expect, it } from "vitest";
import {
  clientAddress,
  installPeerAddressStamp,
  PEER_HEADER,
  rateLimitKey,
} from "../../lib/http/client-address";
import { createScrubber } from "../../lib/log/scrub";
import { redactLocation } from "../../lib/security/redact";

function request(headers: Record<string, string>): Request {
  return new Request("http://app.example/api/admin/config", { headers });
}

describe("clientAddress", () => {
  it("is 'unknown' without the server's peer stamp, whatever the headers claim", () => {
    // Before installPeerAddressStamp (no Node server has seen the connection).
    expect(
      clientAddress(request({ [PEER_HEADER]: "198.51.100.1", "x-forwarded-for": "1.2.3.4" }), []),
    ).toBe("unknown");
  });

  it("believes forwarding headers only from configured proxies", () => {
    installPeerAddressStamp();
    const forged = { "x-forwarded-for": "1.2.3.4", "x-real-ip": "5.6.7.8" };
    // No proxies trusted: the connection's own address.
    expect(clientAddress(request({ [PEER_HEADER]: "203.0.113.9", ...forged }), [])).toBe(
      "203.0.113.9",
    );
    expect(clientAddress(request({ [PEER_HEADER]: "::ffff:127.0.0.1" }), [])).toBe("127.0.0.1");
    // A trusted proxy hands over to the address it forwarded for, right to left.
    const proxies = ["10.0.0.0/8", "127.0.0.1"];
    expect(
      clientAddress(
        request({
          [PEER_HEADER]: "127.0.0.1",
          "x-forwarded-for": "1.2.3.4, 203.0.113.7, 10.0.0.2",
        }),
        proxies,
      ),
    ).toBe("203.0.113.7");
    // A peer that is not a trusted proxy: its forwarding header is ignored.
    expect(
      clientAddress(
        request({ [PEER_HEADER]: "198.51.100.20", "x-forwarded-for": "1.2.3.4" }),
        proxies,
      ),
    ).toBe("198.51.100.20");
    // Every hop trusted: the leftmost. A malformed hop stops at the last trusted one.
    expect(
      clientAddress(request({ [PEER_HEADER]: "10.0.0.3", "x-forwarded-for": "10.0.0.2" }), proxies),
    ).toBe("10.0.0.2");
    expect(
      clientAddress(
        request({ [PEER_HEADER]: "10.0.0.3", "x-forwarded-for": "evil, 10.0.0.2" }),
        proxies,
      ),
    ).toBe("10.0.0.2");
    expect(clientAddress(request({ [PEER_HEADER]: "garbage" }), [])).toBe("unknown");
  });

  it("uses Vercel's own headers on Vercel", () => {
    expect(
      clientAddress(
        request({
          "x-vercel-forwarded-for": "203.0.113.50",
          "x-forwarded-for": "1.2.3.4",
          "x-real-ip": "203.0.113.51",
        }),
        "vercel",
      ),
    ).toBe("203.0.113.50");
    expect(clientAddress(request({ "x-real-ip": "203.0.113.51" }), "vercel")).toBe("203.0.113.51");
    expect(clientAddress(request({}), "vercel")).toBe("unknown");
  });

  it("limits IPv6 clients by their /64", () => {
    expect(rateLimitKey("2001:db8:1:2:aaaa::1")).toBe(rateLimitKey("2001:db8:1:2:bbbb::9"));
    expect(rateLimitKey("2001:db8:1:2::1")).not.toBe(rateLimitKey("2001:db8:1:3::1"));
    expect(rateLimitKey("203.0.113.9")).toBe("203.0.113.9");
    expect(rateLimitKey("unknown")).toBe("unknown");
  });
});

describe("redactLocation and the log scrubber", () => {
  it.each([
    [
      "https://user:tok3n-value@git.example.com/o/r.git",
      "https://[REDACTED]@git.example.com/o/r.git",
    ],
    ["https://ghp_abcdefghijklmnopqrstu@github.com/o/r", "https://[REDACTED]@github.com/o/r"],
    ["ssh://git:hunter2@example.com/r.git", "ssh://git:[REDACTED]@example.com/r.git"],
    ["https://gitlab.com/o/r.git?private_token=abc", "https://gitlab.com/o/r.git?[REDACTED]"],
    ["ssh://git@example.com/r.git", "ssh://git@example.com/r.git"],
    ["git@github.com:o/r.git", "git@github.com:o/r.git"],
    ["/srv/repos/r", "/srv/repos/r"],
    ["o/r", "o/r"],
  ])("shows %s as %s", (location, shown) => {
    expect(redactLocation(location)).toBe(shown);
  });

  it("scrubs a token used as the user name of a URL from log text", () => {
    const scrub = createScrubber([]);
    expect(scrub("git fetch from https://glpat-abc123@gitlab.com/o/r.git failed")).toBe(
      "git fetch from https://[REDACTED]@gitlab.com/o/r.git failed",
    );
    expect(scrub("ssh://git@example.com/r.git")).toBe("ssh://git@example.com/r.git");
  });
});
