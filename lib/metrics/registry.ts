import client from "prom-client";
import type { Database } from "../../db/client";
import type { MonitoringConfig } from "../config";
import { computeFigures, FIGURE_HELP, type Figure } from "../monitoring/figures";
import { latestStoredFigures, monitorIntervalMs } from "../monitoring/series";
import type { RedisStore } from "../redis";
import type { BreakerRegistry } from "../resilience/breaker";

/**
 * The Prometheus registry behind GET /api/metrics. Two kinds of series:
 * - figures every instance shares, from the database and Redis: runs, throughput, cost,
 *   errors, queues, dead letters, breakers, vectors, budget — the monitor's figures. A scrape
 *   serves the monitor workflow's latest stored tick when it is at most one monitor interval
 *   old (plus TICK_GRACE_MS for the cron's latency and the tick's own duration; three index
 *   lookups), and computes them live only when it is not (the monitor is not running, or is
 *   late). A stored tick is kept in this instance until the next one is due (it cannot change
 *   before), computed figures CACHE_MS. One refresh at a time runs: concurrent scrapes share
 *   it (single flight), and a scrape that already has figures waits for it at most
 *   REFRESH_WAIT_MS before serving those.
 *   `ballast_figures_age_seconds{source="series"|"computed"}` says which, and how old;
 * - this process's own histograms: HTTP request latency by route and workflow step latency.
 * Labels are bounded: route names and step ids come from code, never from a request.
 */
const CACHE_MS = 10_000;
/** The longest a scrape holding older figures waits for a refresh before serving them. */
const REFRESH_WAIT_MS = 1000;
/** A tick counts as fresh this long past one interval: the cron fires late, the tick takes time. */
const TICK_GRACE_MS = 60_000;

/** The labels each figure carries (fixed here so a gauge's label set never varies). */
const FIGURE_LABELS: Record<string, string[]> = {
  sync_runs: ["status"],
  sync_runs_active: ["status"],
  sync_runs_finished: ["window", "outcome"],
  documents_finished: ["window", "outcome"],
  chunks_embedded_24h: ["provider"],
  tokens_24h: ["provider"],
  cost_usd_today: ["provider"],
  errors_24h: ["source", "kind"],
  outbox_depth: ["status"],
  breaker_open: ["breaker"],
  breaker_open_seconds: ["breaker"],
  vector_count: ["space"],
  sync_slo_ratio: ["source"],
  sync_duration_seconds: ["source"],
  alerts_firing: ["severity"],
  notifications_waiting: ["status"],
};

type FigureSource = "series" | "computed";

interface Snapshot {
  /** When this instance obtained the figures (the cache's clock). */
  at: number;
  /** When the figures were measured: the monitor tick's time, or the computation's. */
  measuredAt: number;
  source: FigureSource;
  figures: Figure[];
}

interface Metrics {
  registry: client.Registry;
  gauges: Map<string, client.Gauge>;
  http: client.Histogram;
  steps: client.Histogram;
  age: client.Gauge;
  refreshes: client.Counter;
  cache?: Snapshot;
  /** The refresh in flight, shared by every scrape that needs it. */
  refreshing?: Promise<Snapshot>;
}

const holder = globalThis as unknown as { __ballastMetrics?: Metrics };

function metrics(): Metrics {
  if (holder.__ballastMetrics) return holder.__ballastMetrics;
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: "ballast_process_" });
  const gauges = new Map<string, client.Gauge>();
  for (const [name, help] of Object.entries(FIGURE_HELP))
    gauges.set(
      name,
      new client.Gauge({
        name: `ballast_${name}`,
        help,
        labelNames: FIGURE_LABELS[name] ?? [],
        registers: [registry],
      }),
    );
  const http = new client.Histogram({
    name: "ballast_http_request_duration_seconds",
    help: "HTTP request latency in this instance, by route (a name from code), method and status class",
    labelNames: ["route", "method", "status"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const steps = new client.Histogram({
    name: "ballast_workflow_step_duration_seconds",
    help: "Workflow step latency in this instance, by workflow, step and outcome",
    labelNames: ["workflow", "step", "outcome"],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [registry],
  });
  const age = new client.Gauge({
    name: "ballast_figures_age_seconds",
    help: "Age of the figures this scrape serves, by source: series (the monitor workflow's latest tick, at most one monitor interval and a minute old) or computed (live from the database and Redis, when no tick is that recent)",
    labelNames: ["source"],
    registers: [registry],
  });
  const refreshes = new client.Counter({
    name: "ballast_figures_refreshes_total",
    help: "Figure refreshes in this instance, by source (series: read the latest tick; computed: recomputed live)",
    labelNames: ["source"],
    registers: [registry],
  });
  holder.__ballastMetrics = { registry, gauges, http, steps, age, refreshes };
  return holder.__ballastMetrics;
}

export function observeHttpRequest(
  route: string,
  method: string,
  status: number,
  seconds: number,
): void {
  metrics().http.observe({ route, method, status: `${Math.floor(status / 100)}xx` }, seconds);
}

export function observeStep(workflow: string, step: string, ok: boolean, seconds: number): void {
  metrics().steps.observe({ workflow, step, outcome: ok ? "ok" : "error" }, seconds);
}

export interface MetricsSource {
  db: Database;
  redis?: RedisStore;
  breakers?: BreakerRegistry;
  monitoring: MonitoringConfig;
}

/** The monitor's latest tick when fresh, else the figures computed now. */
async function obtainFigures(source: MetricsSource, now: number): Promise<Snapshot> {
  const stored = await latestStoredFigures(
    source.db,
    new Date(now),
    monitorIntervalMs() + TICK_GRACE_MS,
  );
  if (stored)
    return { at: now, measuredAt: stored.at.getTime(), source: "series", figures: stored.figures };
  const figures = await computeFigures(source.db, {
    monitoring: source.monitoring,
    redis: source.redis,
    breakers: source.breakers,
    now: new Date(now),
    vectorCounts: "stored",
  });
  return { at: now, measuredAt: now, source: "computed", figures };
}

function apply(m: Metrics, snapshot: Snapshot): void {
  m.cache = snapshot;
  m.refreshes.inc({ source: snapshot.source });
  for (const gauge of m.gauges.values()) gauge.reset();
  for (const f of snapshot.figures) {
    const gauge = m.gauges.get(f.name);
    if (!gauge) continue;
    const names = FIGURE_LABELS[f.name] ?? [];
    const labels = Object.fromEntries(names.map((k) => [k, f.labels[k] ?? ""]));
    gauge.set(labels, f.value);
  }
}

/**
 * Computed figures are kept CACHE_MS; a stored tick until the next tick is due and stored (a
 * few seconds after its minute), and at least CACHE_MS.
 */
function expiresAt(snapshot: Snapshot): number {
  if (snapshot.source === "computed") return snapshot.at + CACHE_MS;
  return Math.max(snapshot.at + CACHE_MS, snapshot.measuredAt + monitorIntervalMs() + 5_000);
}

/** One refresh at a time in this instance; every scrape that needs one joins it. */
function refresh(m: Metrics, source: MetricsSource, now: number): Promise<Snapshot> {
  if (!m.refreshing) {
    const pending = obtainFigures(source, now).then((snapshot) => {
      apply(m, snapshot);
      return snapshot;
    });
    m.refreshing = pending;
    const clear = () => {
      if (m.refreshing === pending) m.refreshing = undefined;
    };
    pending.then(clear, clear);
  }
  return m.refreshing;
}

/** The text exposition of every metric (figures: see the comment at the top). */
export async function renderMetrics(
  source: MetricsSource,
  now = Date.now(),
): Promise<{ body: string; contentType: string }> {
  const m = metrics();
  if (!m.cache || now > expiresAt(m.cache)) {
    const pending = refresh(m, source, now);
    if (!m.cache) await pending;
    else {
      // Figures in hand: wait a bounded time for the new ones, else serve these (their age says so).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        pending.catch(() => undefined),
        new Promise((resolve) => {
          timer = setTimeout(resolve, REFRESH_WAIT_MS);
        }),
      ]);
      clearTimeout(timer);
    }
  }
  const served = m.cache;
  m.age.reset();
  if (served) m.age.set({ source: served.source }, Math.max(0, (now - served.measuredAt) / 1000));
  return { body: await m.registry.metrics(), contentType: m.registry.contentType };
}

/** Forgets the cached figures (tests). */
export function resetMetricsCache(): void {
  if (holder.__ballastMetrics) holder.__ballastMetrics.cache = undefined;
}
