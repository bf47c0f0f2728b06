import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { FIGURE_HELP } from "../../lib/monitoring/figures";

/** The dashboard and the SLO doc chart only metrics GET /api/metrics serves. */
const ROOT = path.resolve(import.meta.dirname, "..", "..");
const SERVED = new Set([
  ...Object.keys(FIGURE_HELP).map((f) => `ballast_${f}`),
  "ballast_http_request_duration_seconds",
  "ballast_workflow_step_duration_seconds",
]);

function metricNames(text: string): string[] {
  return [...text.matchAll(/\b(ballast_[a-z0-9_]+)/g)]
    .map((m) => m[1] ?? "")
    .map((name) => (SERVED.has(name) ? name : name.replace(/_(bucket|count|sum)$/, "")))
    .filter((name) => !name.startsWith("ballast_process_"));
}

describe("docs/grafana/ballast.json and docs/slo.md", () => {
  it("use only served metric names", () => {
    for (const file of ["docs/grafana/ballast.json", "docs/slo.md"]) {
      const names = metricNames(readFileSync(path.join(ROOT, file), "utf8"));
      expect(names.length, file).toBeGreaterThan(5);
      expect(
        names.filter((n) => !SERVED.has(n)),
        file,
      ).toEqual([]);
    }
  });

  it("is a Grafana dashboard with a Prometheus query on every panel", () => {
    const dashboard = JSON.parse(
      readFileSync(path.join(ROOT, "docs/grafana/ballast.json"), "utf8"),
    );
    expect(dashboard.uid).toBe("ballast-overview");
    for (const panel of dashboard.panels)
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
  });
});
