import { eq } from "drizzle-orm";
import { replayReports } from "../../db/schema";
import { raiseAlert, resolveAlert } from "../alerts/records";
import { BallastError, NotFoundError, ValidationError } from "../errors";
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
  return replayStoredBundle(deps, daily, {
    dedupeKey: `nightly:${options.tick.toISOString()}`,
    trigger: "schedule",
    correlationId: options.correlationId,
  });
}

/** What an operator asked to replay (see lib/replay/request.ts). */
export interface RequestedReplay {
  since?: string;
  until?: string;
  bundle?: string;
  source?: string;
  minPassRate?: number;
}

/** The request's key: the bundle and the scorecard of one request are made once. */
function requestKey(correlationId: string): string {
  return correlationId.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 200);
}

/**
 * A requested replay's bundle: the named one from the archive store (checked), or the range
 * exported into it under the request's key (a retried or replayed step reuses it).
 */
export async function exportRequestedBundle(
  deps: PipelineDeps,
  request: RequestedReplay,
  correlationId: string,
): Promise<DailyBundle> {
  const { config, archive } = needs(deps);
  if (request.bundle) {
    if (!(await archive.head(request.bundle)))
      throw new NotFoundError(`no bundle ${request.bundle} in the archive store`);
    const bundle = await decodeBundle((await archive.get(request.bundle)).body);
    return {
      key: request.bundle,
      runs: bundle.runs.length,
      since: bundle.window.since,
      until: bundle.window.until,
    };
  }
  if (!request.since || !request.until)
    throw new ValidationError("a requested replay needs since and until, or a bundle", [
      { path: "since", message: "required" },
    ]);
  const key = `replay/requested/${requestKey(correlationId)}.json.gz`;
  const existing = await archive.head(key);
  if (existing)
    return {
      key,
      runs: Number(existing.metadata.runs ?? 0),
      since: request.since,
      until: request.until,
    };
  const bundle = await exportBundle(
    { db: deps.db, config },
    { since: new Date(request.since), until: new Date(request.until), source: request.source },
  );
  await archive.put(key, encodeBundle(bundle), {
    contentType: "application/gzip",
    metadata: { bundle: bundle.id, runs: String(bundle.runs.length) },
  });
  return { key, runs: bundle.runs.length, since: request.since, until: request.until };
}

export async function replayRequestedBundle(
  deps: PipelineDeps,
  requested: DailyBundle,
  options: { correlationId: string; minPassRate?: number },
): Promise<NightlyOutcome> {
  return replayStoredBundle(deps, requested, {
    dedupeKey: `requested:${requestKey(options.correlationId)}`,
    trigger: "admin",
    correlationId: options.correlationId,
    minPassRate: options.minPassRate,
  });
}

/** Replays a bundle of the archive store and stores its scorecard, once per dedupe key. */
async function replayStoredBundle(
  deps: PipelineDeps,
  daily: DailyBundle,
  options: {
    dedupeKey: string;
    trigger: "schedule" | "admin";
    correlationId: string;
    minPassRate?: number;
  },
): Promise<NightlyOutcome> {
  const { config, archive } = needs(deps);
  const minPassRate = options.minPassRate ?? config.replay.minPassRate;
  const dedupeKey = options.dedupeKey;
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
    trigger: options.trigger,
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
