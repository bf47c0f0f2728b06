import { describe, expect, it } from "vitest";
import { type AllowEntry, evaluateAudit, parseAllowlist } from "../../scripts/audit";

/** The shape `npm audit --json` prints (report version 2), trimmed to what is judged. */
function report(vulnerabilities: Record<string, unknown>) {
  return { auditReportVersion: 2, vulnerabilities, metadata: {} };
}

const highAdvisory = {
  source: 1101851,
  name: "example-parser",
  title: "Prototype pollution in example-parser",
  url: "https://github.com/advisories/GHSA-abcd-efgh-ijkl",
  severity: "high",
};

const allow: AllowEntry = {
  id: "GHSA-abcd-efgh-ijkl",
  package: "example-parser",
  reason: "only parses our own config at build time",
  reviewedBy: "security review",
  expires: "2027-01-31",
};

describe("dependency audit", () => {
  it("fails on a new high advisory, naming it, and passes once it is reviewed", () => {
    const vulnerable = report({
      "example-parser": { name: "example-parser", severity: "high", via: [highAdvisory] },
      "uses-parser": { name: "uses-parser", severity: "high", via: ["example-parser"] },
      "low-thing": {
        name: "low-thing",
        severity: "moderate",
        via: [{ ...highAdvisory, name: "low-thing", severity: "moderate", url: "x/GHSA-zzzz" }],
      },
    });
    const failed = evaluateAudit(vulnerable, [], "2026-12-02");
    expect(failed).toEqual({
      state: "failed",
      findings: [
        "example-parser GHSA-ABCD-EFGH-IJKL (high): Prototype pollution in example-parser",
      ],
      allowed: [],
    });
    expect(evaluateAudit(vulnerable, [allow], "2026-12-02")).toMatchObject({
      state: "ok",
      allowed: [expect.stringContaining("allowed: only parses our own config")],
    });
    // An expired review fails again.
    expect(evaluateAudit(vulnerable, [allow], "2027-02-01")).toMatchObject({
      state: "failed",
      findings: [expect.stringContaining("expired on 2027-01-31")],
    });
    expect(evaluateAudit(report({}), [], "2026-12-02")).toEqual({ state: "ok", allowed: [] });
  });

  it("says the audit could not run when the registry has no advisory endpoint", () => {
    const mirror = {
      message:
        "405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk",
      statusCode: 405,
    };
    expect(evaluateAudit(mirror, [], "2026-12-02")).toEqual({
      state: "unavailable",
      reason: mirror.message,
    });
    expect(evaluateAudit({ error: { code: "ENOAUDIT" } }, [], "2026-12-02").state).toBe(
      "unavailable",
    );
  });

  it("reads the commented allow-list and refuses an entry without a reason or an expiry", () => {
    expect(parseAllowlist("// reviewed exceptions\n[]\n")).toEqual([]);
    expect(parseAllowlist(`// one\n[${JSON.stringify(allow)}]`)).toEqual([allow]);
    expect(() => parseAllowlist(JSON.stringify([{ ...allow, reason: "" }]))).toThrow(
      /lacks reason/,
    );
    expect(() => parseAllowlist(JSON.stringify([{ ...allow, expires: "soon" }]))).toThrow(
      /YYYY-MM-DD/,
    );
  });
});
