import client from "prom-client";
import type { Database } from "../../db/client";
import type { MonitoringConfig } from "../config";
import { computeFigures, FIGURE_HELP, type Figure } from "../monitoring/figures";
import type { RedisStore } from "../redis";
import type { BreakerRegistry } from "../resilience/breaker";

/**
 * The Prometheus registry behind GET /api/metrics. Two kinds of series:
 * - figures every instance shares, computed from the database and Redis at scrape time
 *   (cached for CACHE_MS so a burst of scrapes costs one computation): runs, throughput,
 *   cost, errors, queues, dead letters, breakers, vectors, budget — the monitor's figures;
 * - this process's own histograms: HTTP request latency by route and workflow step latency.
 * Labels are bounded: route names and step ids come from code, never from a request.
 */
const CACHE_MS = 10_000;

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

interface Metrics {
  registry: client.Registry;
  gauges: Map<string, client.Gauge>;
  http: client.Histogram;
  steps: client.Histogram;
  cache?: { at: number; figures: Figure[] };
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
  holder.__ballastMetrics = { registry, gauges, http, steps };
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

/** The text exposition of every metric, figures fresh within CACHE_MS. */
export async function renderMetrics(
  source: MetricsSource,
  now = Date.now(),
): Promise<{ body: string; contentType: string }> {
  const m = metrics();
  if (!m.cache || now - m.cache.at > CACHE_MS) {
    const figures = await computeFigures(source.db, {
      monitoring: source.monitoring,
      redis: source.redis,
      breakers: source.breakers,
      now: new Date(now),
      vectorCounts: "stored",
    });
    m.cache = { at: now, figures };
    for (const gauge of m.gauges.values()) gauge.reset();
    for (const f of figures) {
      const gauge = m.gauges.get(f.name);
      if (!gauge) continue;
      const names = FIGURE_LABELS[f.name] ?? [];
      const labels = Object.fromEntries(names.map((k) => [k, f.labels[k] ?? ""]));
      gauge.set(labels, f.value);
    }
  }
  return { body: await m.registry.metrics(), contentType: m.registry.contentType };
}

/** Forgets the cached figures (tests). */
export function resetMetricsCache(): void {
  if (holder.__ballastMetrics) holder.__ballastMetrics.cache = undefined;
}
