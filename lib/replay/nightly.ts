import { eq } from "drizzle-orm";
import { replayReports } from "../../db/schema";
import { raiseAlert, resolveAlert } from "../alerts/records";
import { BallastError } from "../errors";
import type { PipelineDeps } from "../pipeline/deps";
import { decodeBundle, encodeBundle, exportBundle } from "./bundle";
import { runReplay } from "./runner";
import { buildScorecard, storeScorecard } from "./scorecard";

/**
 * The nightly replay (the `replay` workflow): yesterday's traffic — the 24 hours before the
 * tick — exported as a bundle into the archive store, replayed through this deployment's code
 * in a sandbox, scored against REPLAY_MIN_PASS_RATE, and an alert record raised below the
 * gate (resolved when a later replay passes). Each part is idempotent for one tick: the bundle
 * and the report are keyed by it.
 */

export const REPLAY_ALERT_KEY = "replay.gate";

function needs(deps: PipelineDeps): Required<Pick<PipelineDeps, "config" | "archive">> {
  if (!deps.config || !deps.archive)
    throw new BallastError(
      "replay_unavailable",
      "the replay needs the configuration and the archive store",
      500,
      false,
    );
  return { config: deps.config, archive: deps.archive };
}

export interface DailyBundle {
  key: string;
  runs: number;
  since: string;
  until: string;
}

export async function exportDailyBundle(deps: PipelineDeps, tick: Date): Promise<DailyBundle> {
  const { config, archive } = needs(deps);
  const until = tick;
  const since = new Date(tick.getTime() - 86_400_000);
  const key = `replay/nightly/${tick.toISOString().replace(/[:.]/g, "-")}.json.gz`;
  const existing = await archive.head(key);
  if (existing)
    return {
      key,
      runs: Number(existing.metadata.runs ?? 0),
      since: since.toISOString(),
      until: until.toISOString(),
    };
  const bundle = await exportBundle({ db: deps.db, config }, { since, until });
  await archive.put(key, encodeBundle(bundle), {
    contentType: "application/gzip",
    metadata: { bundle: bundle.id, runs: String(bundle.runs.length) },
  });
  return { key, runs: bundle.runs.length, since: since.toISOString(), until: until.toISOString() };
}

export interface NightlyOutcome {
  reportId: string | null;
  events: number;
  critical: number;
  passRate: number | null;
  minPassRate: number;
  gatePassed: boolean | null;
  /** Why nothing was replayed, when nothing was. */
  skipped?: string;
}

export async function replayDailyBundle(
  deps: PipelineDeps,
  daily: DailyBundle,
  options: { tick: Date; correlationId: string },
): Promise<NightlyOutcome> {
  const { config, archive } = needs(deps);
  const minPassRate = config.replay.minPassRate;
  const dedupeKey = `nightly:${options.tick.toISOString()}`;
  const [done] = await deps.db
    .select()
    .from(replayReports)
    .where(eq(replayReports.dedupeKey, dedupeKey))
    .limit(1);
  if (done)
    return {
      reportId: done.id,
      events: done.events,
      critical: done.critical,
      passRate: done.passRate,
      minPassRate: done.minPassRate,
      gatePassed: done.gatePassed,
    };
  if (daily.runs === 0)
    return {
      reportId: null,
      events: 0,
      critical: 0,
      passRate: null,
      minPassRate,
      gatePassed: null,
      skipped: "no finished run was recorded in the window",
    };
  const { body } = await archive.get(daily.key);
  const bundle = await decodeBundle(body);
  const result = await runReplay(bundle, { config });
  const card = buildScorecard(result, {
    minPassRate,
    secrets: config.secrets,
    bundleRef: `archive:${daily.key}`,
  });
  const { report } = await storeScorecard(deps.db, card, {
    trigger: "schedule",
    dedupeKey,
    correlationId: options.correlationId,
  });
  return {
    reportId: report.id,
    events: report.events,
    critical: report.critical,
    passRate: report.passRate,
    minPassRate: report.minPassRate,
    gatePassed: report.gatePassed,
  };
}

/** Below the gate: an alert record; at or above it: the firing one (if any) resolved. */
export async function alertOnGate(
  deps: PipelineDeps,
  outcome: NightlyOutcome,
  correlationId: string,
): Promise<"raised" | "resolved" | "none"> {
  if (outcome.gatePassed === null) return "none";
  if (outcome.gatePassed) {
    const resolved = await resolveAlert(
      deps.db,
      REPLAY_ALERT_KEY,
      `replay ${outcome.reportId} passed the gate`,
    );
    return resolved ? "resolved" : "none";
  }
  await raiseAlert(deps.db, {
    key: REPLAY_ALERT_KEY,
    rule: "replay.below-gate",
    severity: "critical",
    summary: `nightly replay below the gate: pass rate ${outcome.passRate} < ${outcome.minPassRate} (${outcome.critical} critical of ${outcome.events})`,
    details: {
      reportId: outcome.reportId,
      passRate: outcome.passRate,
      minPassRate: outcome.minPassRate,
      events: outcome.events,
      critical: outcome.critical,
    },
    correlationId,
  });
  return "raised";
}
