import { ENDPOINTS, type LoadResult } from "./types";

/**
 * `npm run load -- --compare FILE`: the figures of a run against a baseline file. A figure is
 * flagged when it is more than `threshold` (10 %) worse than the baseline AND worse by more
 * than its noise floor (1 ms of latency, 1 request/s, 0.1 percentage point of errors, …), so
 * a 2 ms → 3 ms health check does not fail a release; any lost webhook is always flagged.
 */
export interface Figure {
  key: string;
  label: string;
  value: number;
  better: "higher" | "lower";
  /** Differences up to this (in the figure's unit) are noise, never a regression. */
  floor: number;
  unit: string;
  /** Flag any value above the floor whatever the baseline (webhooks lost). */
  absolute?: boolean;
}

export interface ComparedFigure {
  key: string;
  label: string;
  unit: string;
  baseline: number | null;
  current: number | null;
  /** Relative change, positive = worse; null when either side is missing or the baseline is 0. */
  worseBy: number | null;
  flagged: boolean;
  note: string;
}

export interface Comparison {
  rows: ComparedFigure[];
  flagged: ComparedFigure[];
  /** Why the two runs may not be comparable (different corpus, options, machine). */
  warnings: string[];
}

const MIB = 1024 * 1024;

/** The figures of one result that a comparison looks at. */
export function figuresOf(result: LoadResult): Figure[] {
  const figures: Figure[] = [];
  for (const endpoint of ENDPOINTS) {
    const b = result.baseline[endpoint];
    if (b) {
      const at = `${endpoint} baseline`;
      figures.push(
        {
          key: `${endpoint}.rps`,
          label: `${at}: requests/s`,
          value: b.rps,
          better: "higher",
          floor: 1,
          unit: "req/s",
        },
        {
          key: `${endpoint}.p50`,
          label: `${at}: p50`,
          value: b.latency.p50,
          better: "lower",
          floor: 1,
          unit: "ms",
        },
        {
          key: `${endpoint}.p95`,
          label: `${at}: p95`,
          value: b.latency.p95,
          better: "lower",
          floor: 1,
          unit: "ms",
        },
        {
          key: `${endpoint}.p99`,
          label: `${at}: p99`,
          value: b.latency.p99,
          better: "lower",
          floor: 1,
          unit: "ms",
        },
        {
          key: `${endpoint}.errorRate`,
          label: `${at}: error rate`,
          value: b.errorRate,
          better: "lower",
          floor: 0.001,
          unit: "",
        },
        {
          key: `${endpoint}.cpuMsPerRequest`,
          label: `${at}: server CPU per request`,
          value: b.server.cpuMsPerRequest,
          better: "lower",
          floor: 0.05,
          unit: "ms",
        },
        {
          key: `${endpoint}.rssPeak`,
          label: `${at}: server peak RSS`,
          value: b.server.rssPeakBytes / MIB,
          better: "lower",
          floor: 16,
          unit: "MiB",
        },
      );
    }
    const point = result.breaking[endpoint];
    if (point) {
      figures.push({
        key: `${endpoint}.lastGoodRps`,
        label: `${endpoint} breaking point: requests/s at the last good step`,
        value: point.lastGood?.rps ?? 0,
        better: "higher",
        floor: 1,
        unit: "req/s",
      });
    }
  }
  if (result.webhookIntegrity)
    figures.push({
      key: "webhook.lost",
      label: "webhooks accepted but not stored (lost)",
      value: result.webhookIntegrity.lost,
      better: "lower",
      floor: 0,
      unit: "",
      absolute: true,
    });
  return figures;
}

function judge(
  base: Figure | undefined,
  now: Figure | undefined,
  threshold: number,
): ComparedFigure {
  const any = (now ?? base) as Figure;
  const row: ComparedFigure = {
    key: any.key,
    label: any.label,
    unit: any.unit,
    baseline: base?.value ?? null,
    current: now?.value ?? null,
    worseBy: null,
    flagged: false,
    note: "",
  };
  if (now?.absolute && now.value > now.floor) {
    row.flagged = true;
    row.note = "must be 0";
  }
  if (!base || !now) {
    row.note ||= base ? "not measured in this run" : "not in the baseline";
    return row;
  }
  const delta = now.better === "lower" ? now.value - base.value : base.value - now.value;
  if (base.value !== 0) row.worseBy = delta / Math.abs(base.value);
  const beyondFloor = delta > now.floor;
  const beyondThreshold = base.value === 0 ? delta > 0 : delta > threshold * Math.abs(base.value);
  if (beyondFloor && beyondThreshold) {
    row.flagged = true;
    row.note ||= `worse by more than ${Math.round(threshold * 100)} %`;
  }
  return row;
}

export function compareResults(
  baseline: LoadResult,
  current: LoadResult,
  threshold = 0.1,
): Comparison {
  const before = new Map(figuresOf(baseline).map((f) => [f.key, f]));
  const after = new Map(figuresOf(current).map((f) => [f.key, f]));
  const keys = [...new Set([...before.keys(), ...after.keys()])];
  const rows = keys.map((key) => judge(before.get(key), after.get(key), threshold));
  return {
    rows,
    flagged: rows.filter((r) => r.flagged),
    warnings: comparabilityWarnings(baseline, current),
  };
}

export function comparabilityWarnings(baseline: LoadResult, current: LoadResult): string[] {
  const warnings: string[] = [];
  const a = baseline.options;
  const b = current.options;
  for (const key of [
    "quick",
    "files",
    "baselineSeconds",
    "stepSeconds",
    "connections",
    "maxConnections",
    "trackedShare",
  ] as const)
    if (a[key] !== b[key])
      warnings.push(`option ${key} differs: ${a[key]} in the baseline, ${b[key]} now`);
  if (
    baseline.machine.cpuModel !== current.machine.cpuModel ||
    baseline.machine.cpuCount !== current.machine.cpuCount
  )
    warnings.push(
      `different machine: ${baseline.machine.cpuCount}× ${baseline.machine.cpuModel} vs ${current.machine.cpuCount}× ${current.machine.cpuModel}`,
    );
  const loadA = baseline.machine.loadAverageAtStart[0];
  const loadB = current.machine.loadAverageAtStart[0];
  if (Math.abs(loadA - loadB) > Math.max(1, 0.5 * current.machine.cpuCount))
    warnings.push(`the machine was busier in one run: 1-minute load ${loadA} vs ${loadB}`);
  return warnings;
}

/** Reads and checks a result file (kind and version), naming what is wrong. */
export function parseLoadResult(text: string, file: string): LoadResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not JSON`);
  }
  const value = parsed as Partial<LoadResult> | null;
  if (value?.kind !== "ballast-load")
    throw new Error(`${file} is not a result of npm run load (kind is not "ballast-load")`);
  if (value.version !== 1)
    throw new Error(`${file} has result version ${String(value.version)}; this run reads 1`);
  if (!value.baseline || !value.breaking || !value.options || !value.machine)
    throw new Error(`${file} lacks baseline, breaking, options or machine`);
  return value as LoadResult;
}
