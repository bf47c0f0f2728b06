import { cachedHealth, HEALTH_CACHE_MS } from "../../../lib/health/check";
import { createScrubber } from "../../../lib/log/scrub";
import type { Viewer } from "../../_lib/session";
import { Section, StatusBadge } from "../../_ui/bits";

/**
 * Each dependency's readiness, and which runner runs the workflows (/api/health's report),
 * reused for HEALTH_CACHE_MS in this instance (the panel says when it was checked).
 */
export async function HealthPanel({ viewer }: { viewer: Viewer }) {
  const { runtime } = viewer;
  const report = await cachedHealth(runtime);
  const scrub = createScrubber(runtime.config.secrets);
  const workflows = report.parts.workflows;
  return (
    <Section
      title="Health"
      id="health"
      actions={
        <span className="text-sm">
          Overall <StatusBadge status={report.status} />
        </span>
      }
    >
      {workflows ? (
        <p className="mb-3 text-sm">
          Workflows run on{" "}
          <strong>
            {workflows.backend === "embedded-runner" ? "the app's embedded runner" : "Inngest"}
          </strong>
          {workflows.detail ? <span className="muted"> — {scrub(workflows.detail)}</span> : null}
        </p>
      ) : null}
      <p className="muted mb-3 text-xs" data-testid="health-checked">
        Checked at {report.checkedAt.slice(11, 19)} UTC; the overview reuses a check for up to{" "}
        {HEALTH_CACHE_MS / 1000} s (/api/health checks every time).
      </p>
      <ul className="divide-y divide-slate-100 dark:divide-slate-800">
        {Object.entries(report.parts).map(([name, part]) => (
          <li key={name} className="flex flex-wrap items-start justify-between gap-2 py-2 text-sm">
            <div className="min-w-0">
              <span className="font-medium">{name}</span>{" "}
              <span className="muted">
                {part.backend}
                {part.embedded ? " (embedded)" : ""}
                {part.latencyMs !== null ? ` · ${part.latencyMs} ms` : ""}
              </span>
              {part.detail && part.status !== "ok" ? (
                <p className="muted mt-0.5 text-xs break-words">{scrub(part.detail)}</p>
              ) : null}
            </div>
            <StatusBadge status={part.status} />
          </li>
        ))}
      </ul>
    </Section>
  );
}
