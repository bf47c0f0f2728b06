import { randomUUID } from "node:crypto";
import { desc, eq } from "drizzle-orm";
import type { Database } from "../../db/client";
import { replayReports } from "../../db/schema";
import { NotFoundError, ValidationError } from "../errors";
import { createScrubber } from "../log/scrub";
import type { ReplayResult, SearchQuality } from "./runner";

/**
 * The release scorecard of a replay: pass rate (pass + tolerated drift over replayed events),
 * critical failures with their reasons and documents, latency parity, search quality on a
 * golden set, and the negative constraints (no secret in any output, no index change outside
 * the replayed sources). The gate passes when the pass rate reaches the minimum and no
 * constraint is broken. JSON and Markdown, with a sign-off block (who, when, decision).
 */

export interface SignOff {
  by: string | null;
  at: string | null;
  decision: "ship" | "hold" | null;
  note?: string | null;
}

export interface Scorecard {
  bundle: {
    id: string;
    ref: string | null;
    window: { since: string; until: string };
    configHash: { recorded: string; replayed: string; changed: boolean };
  };
  ranAt: string;
  events: {
    total: number;
    replayed: number;
    passed: number;
    drift: number;
    critical: number;
    skipped: number;
  };
  passRate: number;
  latencyParity: {
    within: number;
    checked: number;
    share: number;
    tolerance: number;
    floorMs: number;
  };
  gate: { minPassRate: number; passed: boolean; why: string[] };
  criticalFailures: {
    event: string;
    runId: string;
    source: string;
    reasons: string[];
    documents: string[];
  }[];
  drift: { event: string; runId: string; reasons: string[] }[];
  skipped: { runId: string; reason: string }[];
  search: SearchQuality | null;
  constraints: {
    secretsFound: number;
    secretLocations: string[];
    changesOutsideReplayedSources: { runId: string; sourceId: string }[];
  };
  performance: { wallMs: number; replayMs: number; eventsPerSecond: number };
  perEvent: {
    event: string;
    runId: string;
    source: string;
    verdict: string;
    reasons: string[];
    documents: string[];
    latency: { step: string; recordedMs: number; replayedMs: number; within: boolean }[];
    wallMs: number;
  }[];
  signOff: SignOff;
}

function eventLabel(e: ReplayResult["events"][number]): string {
  const cause = e.cause ? `${e.cause.name} ${e.cause.correlationId}` : `${e.trigger} request`;
  return `${cause} → sync ${e.sourceName}`;
}

/** Builds the scorecard and runs the secret scan over everything it and the sandbox produced. */
export function buildScorecard(
  result: ReplayResult,
  options: { minPassRate: number; secrets: readonly string[]; bundleRef?: string | null },
): Scorecard {
  if (!(options.minPassRate >= 0 && options.minPassRate <= 1))
    throw new ValidationError("the minimum pass rate must be from 0 to 1", [
      { path: "minPassRate", message: String(options.minPassRate) },
    ]);
  const events = result.events;
  const count = (v: string) => events.filter((e) => e.diff.verdict === v).length;
  const passed = count("pass");
  const drift = count("drift");
  const critical = count("critical");
  const passRate = events.length === 0 ? 0 : (passed + drift) / events.length;
  const checks = events.flatMap((e) => e.diff.latency);
  const within = checks.filter((c) => c.within).length;
  const replayMs = events.reduce((s, e) => s + e.wallMs, 0);
  const card: Scorecard = {
    bundle: {
      id: result.bundle.id,
      ref: options.bundleRef ?? null,
      window: result.bundle.window,
      configHash: {
        recorded: result.bundle.configHash,
        replayed: result.configHash,
        changed: result.bundle.configHash !== result.configHash,
      },
    },
    ranAt: new Date().toISOString(),
    events: {
      total: events.length + result.skipped.length,
      replayed: events.length,
      passed,
      drift,
      critical,
      skipped: result.skipped.length,
    },
    passRate: Math.round(passRate * 10_000) / 10_000,
    latencyParity: {
      within,
      checked: checks.length,
      share: checks.length === 0 ? 1 : Math.round((within / checks.length) * 10_000) / 10_000,
      tolerance: result.tolerance.latency,
      floorMs: result.tolerance.floorMs,
    },
    gate: { minPassRate: options.minPassRate, passed: false, why: [] },
    criticalFailures: events
      .filter((e) => e.diff.verdict === "critical")
      .map((e) => ({
        event: eventLabel(e),
        runId: e.runId,
        source: e.sourceName,
        reasons: e.diff.reasons,
        documents: e.diff.documents,
      })),
    drift: events
      .filter((e) => e.diff.verdict === "drift")
      .map((e) => ({ event: eventLabel(e), runId: e.runId, reasons: e.diff.reasons })),
    skipped: result.skipped,
    search: result.search,
    constraints: {
      secretsFound: 0,
      secretLocations: [],
      changesOutsideReplayedSources: result.outsideChanges,
    },
    performance: {
      wallMs: result.wallMs,
      replayMs,
      eventsPerSecond:
        replayMs === 0 ? 0 : Math.round((events.length / (replayMs / 1000)) * 100) / 100,
    },
    perEvent: events.map((e) => ({
      event: eventLabel(e),
      runId: e.runId,
      source: e.sourceName,
      verdict: e.diff.verdict,
      reasons: e.diff.reasons,
      documents: e.diff.documents,
      latency: e.diff.latency,
      wallMs: e.wallMs,
    })),
    signOff: { by: null, at: null, decision: null },
  };

  // Negative constraint: no secret in any output (the scorecard, its Markdown, the sandbox's
  // logs and ledger). A scrubber that changes a text found a secret in it.
  const scrub = createScrubber(options.secrets);
  const outputs: [string, string][] = [
    ["scorecard", JSON.stringify(card)],
    ["markdown", renderMarkdown(card)],
    ["sandbox logs and ledger", result.sandboxText],
  ];
  for (const [where, text] of outputs)
    if (scrub(text) !== text) card.constraints.secretLocations.push(where);
  card.constraints.secretsFound = card.constraints.secretLocations.length;
  if (card.constraints.secretsFound > 0)
    for (const e of card.perEvent) {
      e.reasons = e.reasons.map(scrub);
      e.documents = e.documents.map(scrub);
    }

  const why: string[] = [];
  if (events.length === 0) why.push("no event could be replayed");
  if (passRate < options.minPassRate)
    why.push(`pass rate ${formatRate(passRate)} is below ${formatRate(options.minPassRate)}`);
  if (card.constraints.secretsFound > 0)
    why.push(`a secret appeared in: ${card.constraints.secretLocations.join(", ")}`);
  if (result.outsideChanges.length > 0)
    why.push(`${result.outsideChanges.length} change(s) outside the replayed sources`);
  card.gate = { minPassRate: options.minPassRate, passed: why.length === 0, why };
  return card;
}

const formatRate = (r: number) => `${(Math.round(r * 1000) / 10).toFixed(1)} %`;

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function renderMarkdown(card: Scorecard): string {
  const lines: string[] = [];
  lines.push(`# Replay scorecard — ${card.gate.passed ? "PASS" : "FAIL"}`, "");
  lines.push(
    `Bundle \`${card.bundle.id}\`${card.bundle.ref ? ` (${cell(card.bundle.ref)})` : ""}, window ${card.bundle.window.since} → ${card.bundle.window.until}; replayed ${card.ranAt}.`,
    "",
    `Configuration: recorded \`${card.bundle.configHash.recorded}\`, replayed \`${card.bundle.configHash.replayed}\`${card.bundle.configHash.changed ? " (**changed**)" : " (same)"}.`,
    "",
  );
  lines.push("| measure | value |", "|---|---|");
  lines.push(
    `| pass rate (pass + tolerated drift) | ${formatRate(card.passRate)} (gate ${formatRate(card.gate.minPassRate)}) |`,
    `| events | ${card.events.replayed} replayed: ${card.events.passed} pass, ${card.events.drift} drift, ${card.events.critical} critical; ${card.events.skipped} skipped |`,
    `| latency parity | ${card.latencyParity.within}/${card.latencyParity.checked} steps within ±${Math.round(card.latencyParity.tolerance * 100)} % or ${card.latencyParity.floorMs} ms |`,
    `| secrets in any output | ${card.constraints.secretsFound === 0 ? "none" : cell(card.constraints.secretLocations.join(", "))} |`,
    `| changes outside the replayed sources | ${card.constraints.changesOutsideReplayedSources.length === 0 ? "none" : card.constraints.changesOutsideReplayedSources.length} |`,
    `| replay time | ${card.performance.replayMs} ms (${card.performance.eventsPerSecond} events/s) |`,
  );
  if (card.search) {
    const s = card.search;
    const systems = Object.entries(s.systems)
      .map(
        ([name, m]) =>
          `${name} recall@${s.k} ${m.recallAtK.toFixed(3)}, MRR ${m.mrrAt10.toFixed(3)}`,
      )
      .join("; ");
    lines.push(
      `| search quality (${cell(s.golden)} on ${cell(s.source)}) | ${s.error ? `not measured: ${cell(s.error)}` : cell(systems)} |`,
    );
  }
  lines.push("");
  if (!card.gate.passed) lines.push(`**Gate failed:** ${card.gate.why.map(cell).join("; ")}`, "");
  if (card.criticalFailures.length > 0) {
    lines.push("## Critical failures", "");
    for (const f of card.criticalFailures) {
      lines.push(`- **${cell(f.event)}** (run \`${f.runId}\`)`);
      for (const r of f.reasons) lines.push(`  - ${cell(r)}`);
      if (f.documents.length > 0)
        lines.push(
          `  - affected documents: ${f.documents.map((d) => `\`${cell(d)}\``).join(", ")}`,
        );
    }
    lines.push("");
  }
  if (card.drift.length > 0) {
    lines.push("## Tolerated drift", "");
    for (const d of card.drift) lines.push(`- ${cell(d.event)}: ${d.reasons.map(cell).join("; ")}`);
    lines.push("");
  }
  if (card.skipped.length > 0) {
    lines.push("## Not replayed", "");
    for (const s of card.skipped) lines.push(`- run \`${s.runId}\`: ${cell(s.reason)}`);
    lines.push("");
  }
  lines.push("## Sign-off", "");
  lines.push("| | |", "|---|---|");
  lines.push(
    `| reviewed by | ${card.signOff.by ? cell(card.signOff.by) : "________"} |`,
    `| when | ${card.signOff.at ?? "________"} |`,
    `| decision | ${card.signOff.decision ?? "ship / hold"} |`,
  );
  if (card.signOff.note) lines.push(`| note | ${cell(card.signOff.note)} |`);
  return `${lines.join("\n")}\n`;
}

export interface StoredReport {
  id: string;
  bundleId: string;
  bundleRef: string | null;
  trigger: string;
  events: number;
  passed: number;
  drift: number;
  critical: number;
  passRate: number;
  minPassRate: number;
  gatePassed: boolean;
  correlationId: string | null;
  createdAt: string;
}

function view(row: typeof replayReports.$inferSelect): StoredReport {
  return {
    id: row.id,
    bundleId: row.bundleId,
    bundleRef: row.bundleRef,
    trigger: row.trigger,
    events: row.events,
    passed: row.passed,
    drift: row.drift,
    critical: row.critical,
    passRate: row.passRate,
    minPassRate: row.minPassRate,
    gatePassed: row.gatePassed,
    correlationId: row.correlationId,
    createdAt: row.createdAt.toISOString(),
  };
}

/** Stores a scorecard; the same dedupe key twice keeps the first (a replayed nightly run). */
export async function storeScorecard(
  db: Database,
  card: Scorecard,
  options: { trigger: "cli" | "schedule" | "admin"; dedupeKey?: string; correlationId?: string },
): Promise<{ report: StoredReport; created: boolean }> {
  const dedupeKey = options.dedupeKey ?? `replay:${randomUUID()}`;
  const [inserted] = await db
    .insert(replayReports)
    .values({
      dedupeKey,
      bundleId: card.bundle.id,
      bundleRef: card.bundle.ref,
      trigger: options.trigger,
      events: card.events.replayed,
      passed: card.events.passed,
      drift: card.events.drift,
      critical: card.events.critical,
      passRate: card.passRate,
      minPassRate: card.gate.minPassRate,
      gatePassed: card.gate.passed,
      scorecard: card as unknown as Record<string, unknown>,
      markdown: renderMarkdown(card),
      correlationId: options.correlationId ?? null,
    })
    .onConflictDoNothing({ target: replayReports.dedupeKey })
    .returning();
  if (inserted) return { report: view(inserted), created: true };
  const [existing] = await db
    .select()
    .from(replayReports)
    .where(eq(replayReports.dedupeKey, dedupeKey))
    .limit(1);
  if (!existing) throw new Error(`replay report ${dedupeKey} vanished`);
  return { report: view(existing), created: false };
}

export async function listScorecards(
  db: Database,
  options: { limit?: number } = {},
): Promise<StoredReport[]> {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 500);
  const rows = await db
    .select()
    .from(replayReports)
    .orderBy(desc(replayReports.createdAt))
    .limit(limit);
  return rows.map(view);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function getScorecard(
  db: Database,
  id: string,
): Promise<{ report: StoredReport; scorecard: Scorecard; markdown: string }> {
  if (!UUID.test(id))
    throw new ValidationError("a replay report id is a UUID", [
      { path: "id", message: "not a UUID" },
    ]);
  const [row] = await db.select().from(replayReports).where(eq(replayReports.id, id)).limit(1);
  if (!row) throw new NotFoundError(`no replay report ${id}`);
  return {
    report: view(row),
    scorecard: row.scorecard as unknown as Scorecard,
    markdown: row.markdown,
  };
}

/** Records who signed the scorecard off, when, and the decision; the Markdown is re-rendered. */
export async function signOffScorecard(
  db: Database,
  id: string,
  signOff: { by: string; decision: "ship" | "hold"; note?: string },
): Promise<Scorecard> {
  const { scorecard } = await getScorecard(db, id);
  const by = signOff.by.trim();
  if (by.length === 0 || by.length > 200)
    throw new ValidationError("the sign-off needs a name (1-200 characters)", [
      { path: "by", message: "1-200 characters" },
    ]);
  const card: Scorecard = {
    ...scorecard,
    signOff: {
      by: createScrubber([])(by),
      at: new Date().toISOString(),
      decision: signOff.decision,
      note: signOff.note ? createScrubber([])(signOff.note.slice(0, 1000)) : null,
    },
  };
  await db
    .update(replayReports)
    .set({ scorecard: card as unknown as Record<string, unknown>, markdown: renderMarkdown(card) })
    .where(eq(replayReports.id, id));
  return card;
}
