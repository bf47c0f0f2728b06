import { reuseFor } from "../../../lib/cache/stale";
import { overviewThroughput, type Throughput } from "../../../lib/console/queries";
import type { Viewer } from "../../_lib/session";
import { EmptyState, Section } from "../../_ui/bits";
import { BarChart, LineChart } from "../../_ui/charts";
import { formatCount, formatPercent, formatUsd } from "../../_ui/format";

function label(range: Throughput["range"], at: string): string {
  return range === "24h" ? `${at.slice(11, 13)}h` : at.slice(5, 10);
}

function Charts({ data }: { data: Throughput }) {
  const perMinute = data.buckets.map((b) => ({
    label: label(data.range, b.at),
    value: b.documents / data.bucketMinutes,
  }));
  const errorRate = data.buckets.map((b) => {
    const attempted = b.documents + b.failedDocuments;
    return {
      label: label(data.range, b.at),
      value: attempted > 0 ? b.failedDocuments / attempted : 0,
    };
  });
  const cost = data.buckets.map((b) => ({ label: label(data.range, b.at), value: b.costUsd }));
  const t = data.totals;
  const attempted = t.documents + t.failedDocuments;
  const span = data.range === "24h" ? "the last 24 hours" : "the last 30 days";
  const peak = Math.max(...perMinute.map((p) => p.value));
  return (
    <div className="grid gap-6 lg:grid-cols-3">
      <BarChart
        title="Documents per minute"
        points={perMinute}
        format={(n) => (n >= 10 ? formatCount(Math.round(n)) : n.toFixed(1))}
        summary={`${formatCount(t.documents)} documents in ${span}; peak ${peak.toFixed(1)}/min per ${data.range === "24h" ? "hour" : "day"}.`}
      />
      <LineChart
        title="Error rate (failed documents)"
        points={errorRate}
        max={Math.max(0.05, ...errorRate.map((p) => p.value))}
        format={(n) => formatPercent(n)}
        summary={`${formatCount(t.failedDocuments)} of ${formatCount(attempted)} documents failed (${formatPercent(attempted ? t.failedDocuments / attempted : 0)}); ${formatCount(t.failedRuns)} of ${formatCount(t.runs)} runs had errors.`}
      />
      <BarChart
        title="Embedding cost"
        points={cost}
        format={(n) => formatUsd(n)}
        summary={`${formatUsd(t.costUsd)} in ${span}.`}
      />
    </div>
  );
}

/** How long this instance reuses the charts' figures (the panel says so). */
const THROUGHPUT_CACHE_MS = 30_000;

/**
 * Documents/min, error rate and cost over 24 h (hourly) and 30 d (daily), from finished runs
 * (one pass over the last 30 days' runs), reused for THROUGHPUT_CACHE_MS in this instance.
 */
export async function ThroughputPanel({ viewer }: { viewer: Viewer }) {
  const { runtime } = viewer;
  const { day, month } = await reuseFor(runtime, "overview-throughput", THROUGHPUT_CACHE_MS, () =>
    overviewThroughput(runtime.db),
  );
  return (
    <Section
      title="Throughput"
      id="throughput"
      actions={
        <span className="muted text-xs" data-testid="throughput-age">
          Figures refreshed at most every {THROUGHPUT_CACHE_MS / 1000} s
        </span>
      }
    >
      {month.totals.runs === 0 ? (
        <EmptyState title="No finished syncs in the last 30 days">
          Charts of documents per minute, error rate and cost appear once a sync finishes. Add a
          source and sync it.
        </EmptyState>
      ) : (
        <div className="space-y-8">
          <div>
            <h3 className="muted mb-2 text-sm font-semibold">Last 24 hours (per hour)</h3>
            <Charts data={day} />
          </div>
          <div>
            <h3 className="muted mb-2 text-sm font-semibold">Last 30 days (per day)</h3>
            <Charts data={month} />
          </div>
        </div>
      )}
    </Section>
  );
}
