import { describe, expect, it } from "vitest";
import {
  addressRange,
  checkOutboundUrl,
  DEFAULT_URL_POLICY,
  OutboundUrlError,
  type Resolver,
  type UrlPolicy,
} from "../../lib/security/url-policy";

const dev: UrlPolicy = {
  schemes: ["https", "http", "ssh", "git"],
  allowHosts: [],
  allowPrivate: false,
};
const resolveTo =
  (table: Record<string, string[]>): Resolver =>
  async (host) => {
    const found = table[host];
    if (!found) throw new Error(`ENOTFOUND ${host}`);
    return found;
  };
const publicDns = resolveTo({
  "git.example.com": ["93.184.215.14"],
  "rebind.example.com": ["93.184.215.14", "127.0.0.1"],
  "metadata.example.com": ["169.254.169.254"],
  "v6.example.com": ["2606:4700::6810:84e5"],
  "mapped.example.com": ["::ffff:10.0.0.5"],
  localhost: ["127.0.0.1", "::1"],
  "git.internal": ["10.1.2.3"],
});

async function refusal(url: string, policy: UrlPolicy = dev): Promise<string> {
  try {
    await checkOutboundUrl(url, policy, publicDns);
  } catch (error) {
    expect(error).toBeInstanceOf(OutboundUrlError);
    expect((error as OutboundUrlError).status).toBe(422);
    return (error as Error).message;
  }
  throw new Error(`${url} was allowed`);
}

describe("outbound URL policy", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["10.0.0.1", "private"],
    ["172.16.5.4", "private"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "carrierGradeNat"],
    ["169.254.169.254", "linkLocal"],
    ["224.0.0.251", "multicast"],
    ["0.0.0.0", "unspecified"],
    ["255.255.255.255", "broadcast"],
    ["240.0.0.1", "reserved"],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["fe80::1", "linkLocal"],
    ["fd00::1", "uniqueLocal"],
    ["ff02::1", "multicast"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:169.254.169.254", "linkLocal"],
    ["64:ff9b::a9fe:a9fe", "linkLocal"],
    ["2002:7f00:1::", "loopback"],
    ["93.184.215.14", "public"],
    ["2606:4700::6810:84e5", "public"],
  ])("classifies %s as %s", (address, range) => {
    expect(addressRange(address)).toBe(range);
  });

  it("refuses every notation of a loopback, link-local or private target, naming the kind", async () => {
    expect(await refusal("http://127.0.0.1:8080/repo.git")).toMatch(
      /loopback address \(127\.0\.0\.1\)/,
    );
    expect(await refusal("http://169.254.169.254/latest/meta-data")).toMatch(/link-local/);
    expect(await refusal("http://[::1]/repo.git")).toMatch(/loopback/);
    expect(await refusal("http://[::ffff:7f00:1]/repo.git")).toMatch(/loopback/);
    expect(await refusal("http://2130706433/repo.git")).toMatch(/loopback/); // decimal 127.0.0.1
    expect(await refusal("http://0x7f.1/repo.git")).toMatch(/loopback/);
    expect(await refusal("http://localhost/repo.git")).toMatch(/loopback/);
    expect(await refusal("https://metadata.example.com/x")).toMatch(/link-local/);
    expect(await refusal("https://mapped.example.com/x")).toMatch(/private/);
    expect(await refusal("ssh://git@git.internal/team/repo.git")).toMatch(/private/);
    expect(await refusal("git@git.internal:team/repo.git")).toMatch(/private/);
    // One private answer among public ones is enough to refuse (DNS rebinding).
    expect(await refusal("https://rebind.example.com/x")).toMatch(/loopback/);
    expect(await refusal("https://unknown.example.com/x")).toMatch(/could not be resolved/);
  });

  it("allows public hosts, and private ones only when configured", async () => {
    expect(await checkOutboundUrl("https://git.example.com/o/r.git", dev, publicDns)).toEqual({
      scheme: "https",
      host: "git.example.com",
      port: 443,
      addresses: ["93.184.215.14"],
    });
    expect((await checkOutboundUrl("https://v6.example.com:8443/r.git", dev, publicDns)).port).toBe(
      8443,
    );
    const byName = { ...dev, allowHosts: ["git.internal"] };
    expect(
      (await checkOutboundUrl("ssh://git@git.internal/r.git", byName, publicDns)).addresses,
    ).toEqual(["10.1.2.3"]);
    const byCidr = { ...dev, allowHosts: ["10.1.2.0/24", "127.0.0.1"] };
    await expect(
      checkOutboundUrl("https://git.internal/r.git", byCidr, publicDns),
    ).resolves.toBeTruthy();
    await expect(
      checkOutboundUrl("http://127.0.0.1:9/r.git", byCidr, publicDns),
    ).resolves.toBeTruthy();
    await expect(
      checkOutboundUrl("http://[::ffff:127.0.0.1]:9/r.git", byCidr, publicDns),
    ).resolves.toBeTruthy();
    await expect(checkOutboundUrl("http://10.1.3.1/r.git", byCidr, publicDns)).rejects.toThrow(
      /private/,
    );
    const anything = { ...dev, allowPrivate: true };
    await expect(
      checkOutboundUrl("http://169.254.169.254/", anything, publicDns),
    ).resolves.toBeTruthy();
  });

  it("allows only the policy's schemes: https alone by default and in production", async () => {
    expect(await refusal("http://git.example.com/r.git", DEFAULT_URL_POLICY)).toMatch(
      /http scheme is not allowed.*https/,
    );
    expect(await refusal("ssh://git@git.example.com/r.git", DEFAULT_URL_POLICY)).toMatch(
      /ssh scheme/,
    );
    expect(await refusal("ftp://git.example.com/r.git")).toMatch(/ftp scheme/);
    await expect(
      checkOutboundUrl("https://git.example.com/r.git", DEFAULT_URL_POLICY, publicDns),
    ).resolves.toBeTruthy();
  });
});
