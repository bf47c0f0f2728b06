/**
 * Dependency audit for CI: `npm audit --omit=dev`, failing on any high or critical advisory
 * in a production dependency that audit-allowlist.jsonc does not list (reviewed, with a
 * reason and an expiry date).
 *
 *   tsx scripts/audit.ts [--require]
 *
 * When the registry offers no advisory endpoint (a mirror that answers 404/405, or no
 * network), the audit cannot run: this says so loudly and exits 0, or 1 with --require
 * (for a CI whose registry is npmjs.org itself).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

export interface AllowEntry {
  id: string;
  package: string;
  reason: string;
  reviewedBy: string;
  expires: string;
}

interface Advisory {
  source?: number;
  name?: string;
  title?: string;
  url?: string;
  severity?: string;
}

interface Vulnerability {
  name: string;
  severity: string;
  via: (Advisory | string)[];
}

export type AuditVerdict =
  | { state: "unavailable"; reason: string }
  | { state: "ok"; allowed: string[] }
  | { state: "failed"; findings: string[]; allowed: string[] };

const BLOCKING = new Set(["high", "critical"]);

/** The GHSA id of an advisory (from its URL), else npm's numeric id. */
function advisoryId(advisory: Advisory): string {
  const ghsa = /GHSA-[\w-]+/i.exec(advisory.url ?? "")?.[0];
  return ghsa ? ghsa.toUpperCase() : String(advisory.source ?? advisory.title ?? "unknown");
}

/** Parses the allow-list (JSON with // comment lines); throws naming a malformed entry. */
export function parseAllowlist(text: string): AllowEntry[] {
  const json = text
    .split("\n")
    .filter((line) => !line.trim().startsWith("//"))
    .join("\n");
  const entries = JSON.parse(json) as AllowEntry[];
  if (!Array.isArray(entries)) throw new Error("audit allow-list: expected a JSON array");
  for (const entry of entries) {
    for (const field of ["id", "package", "reason", "reviewedBy", "expires"] as const)
      if (typeof entry[field] !== "string" || entry[field].trim() === "")
        throw new Error(`audit allow-list: entry ${JSON.stringify(entry)} lacks ${field}`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(entry.expires))
      throw new Error(`audit allow-list: ${entry.id} expires must be YYYY-MM-DD`);
  }
  return entries;
}

/** Judges `npm audit --json` output against the allow-list on `today` (YYYY-MM-DD). */
export function evaluateAudit(
  report: unknown,
  allowlist: AllowEntry[],
  today: string,
): AuditVerdict {
  const data = report as {
    vulnerabilities?: Record<string, Vulnerability>;
    message?: string;
    error?: { summary?: string; code?: string };
    statusCode?: number;
  };
  if (!data || typeof data !== "object" || data.vulnerabilities === undefined) {
    const reason =
      data?.message ??
      data?.error?.summary ??
      data?.error?.code ??
      "npm audit gave no report (no advisory endpoint?)";
    return { state: "unavailable", reason };
  }
  const findings: string[] = [];
  const allowed: string[] = [];
  for (const vulnerability of Object.values(data.vulnerabilities)) {
    for (const via of vulnerability.via) {
      if (typeof via === "string") continue; // reported under the package it comes from
      if (!BLOCKING.has(via.severity ?? vulnerability.severity)) continue;
      const id = advisoryId(via);
      const label =
        `${via.name ?? vulnerability.name} ${id} (${via.severity}): ${via.title ?? ""}`.trim();
      const entry = allowlist.find(
        (e) => e.id.toUpperCase() === id && e.package === (via.name ?? vulnerability.name),
      );
      if (entry && entry.expires >= today) allowed.push(`${label} — allowed: ${entry.reason}`);
      else if (entry) findings.push(`${label} — its allow-list entry expired on ${entry.expires}`);
      else findings.push(label);
    }
  }
  const unique = (list: string[]) => [...new Set(list)];
  return findings.length > 0
    ? { state: "failed", findings: unique(findings), allowed: unique(allowed) }
    : { state: "ok", allowed: unique(allowed) };
}

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

function main(): number {
  const root = path.resolve(import.meta.dirname, "..");
  const requireAudit = process.argv.includes("--require");
  const allowlist = parseAllowlist(readFileSync(path.join(root, "audit-allowlist.jsonc"), "utf8"));
  const run = spawnSync("npm", ["audit", "--omit=dev", "--audit-level=high", "--json"], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  let report: unknown;
  try {
    report = JSON.parse(run.stdout);
  } catch {
    report = { message: run.stderr.trim().split("\n").pop() || "npm audit printed no JSON" };
  }
  const verdict = evaluateAudit(report, allowlist, new Date().toISOString().slice(0, 10));
  switch (verdict.state) {
    case "unavailable":
      err(`audit: NOT RUN — the registry's advisory endpoint is unavailable (${verdict.reason}).`);
      return requireAudit ? 1 : 0;
    case "ok":
      for (const line of verdict.allowed) out(`audit: ${line}`);
      out("audit: no unreviewed high or critical advisory in production dependencies");
      return 0;
    case "failed":
      for (const line of verdict.allowed) out(`audit: ${line}`);
      for (const line of verdict.findings) err(`audit: HIGH ${line}`);
      err(
        "audit: review each advisory above: upgrade, or add a reasoned entry to audit-allowlist.jsonc",
      );
      return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) process.exitCode = main();
