import Link from "next/link";
import type { TraceView } from "../../lib/traces/query";
import { StatusBadge, TableWrap } from "./bits";
import { formatDuration, formatTime, shortId } from "./format";

const SPAN_BADGE: Record<string, string> = { ok: "ok", error: "failed", retried: "degraded" };

/** Trace spans as a table: when, what (function and step), status, duration, run and correlation. */
export function TraceTable({
  spans,
  label,
  timeline,
}: {
  spans: TraceView[];
  label: string;
  /** A run's timeline: offsets from the first span, bars to scale. */
  timeline?: boolean;
}) {
  const start = spans.length > 0 ? Math.min(...spans.map((s) => Date.parse(s.startedAt))) : 0;
  const end = spans.length > 0 ? Math.max(...spans.map((s) => Date.parse(s.endedAt))) : 0;
  const total = Math.max(end - start, 1);
  return (
    <TableWrap label={label}>
      <table className="table" data-testid="trace-spans">
        <thead>
          <tr>
            <th scope="col">{timeline ? "At" : "Started"}</th>
            <th scope="col">Span</th>
            <th scope="col">Status</th>
            <th scope="col" className="text-right">
              Duration
            </th>
            {timeline ? (
              <th scope="col">
                <span className="sr-only">Timeline</span>
              </th>
            ) : (
              <th scope="col">Run · correlation</th>
            )}
          </tr>
        </thead>
        <tbody>
          {spans.map((s) => {
            const offset = Date.parse(s.startedAt) - start;
            return (
              <tr key={`${s.traceId}:${s.spanId}`} data-testid="trace-span">
                <td className="text-xs whitespace-nowrap">
                  {timeline ? `+${formatDuration(offset)}` : formatTime(s.startedAt)}
                </td>
                <td>
                  <span className="font-medium">{s.name}</span>
                  <div className="muted text-xs">
                    {s.function ?? "—"} · {s.kind}
                    {s.attempt > 0 ? ` · attempt ${s.attempt + 1}` : ""}
                  </div>
                  {s.errorMessage ? (
                    <div className="text-xs break-words">
                      {s.errorClass ? `${s.errorClass}: ` : ""}
                      {s.errorMessage.slice(0, 300)}
                    </div>
                  ) : null}
                </td>
                <td>
                  <StatusBadge status={SPAN_BADGE[s.status] ?? s.status} />
                  <span className="sr-only"> ({s.status})</span>
                </td>
                <td className="text-right text-xs tabular-nums">{formatDuration(s.durationMs)}</td>
                {timeline ? (
                  <td className="w-1/3 min-w-32">
                    <svg
                      viewBox="0 0 100 4"
                      preserveAspectRatio="none"
                      className="h-2 w-full rounded bg-slate-100 dark:bg-slate-800"
                      aria-hidden="true"
                    >
                      <rect
                        x={(offset / total) * 100}
                        width={Math.max((s.durationMs / total) * 100, 0.5)}
                        y={0}
                        height={4}
                        className={s.status === "error" ? "fill-red-600" : "fill-sky-600"}
                      />
                    </svg>
                  </td>
                ) : (
                  <td className="text-xs">
                    {s.runId ? <Link href={`/runs/${s.runId}`}>run {shortId(s.runId)}</Link> : "—"}
                    {s.correlationId ? (
                      <div>
                        <Link href={`/traces?correlation=${encodeURIComponent(s.correlationId)}`}>
                          {s.correlationId.slice(0, 40)}
                        </Link>
                      </div>
                    ) : null}
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </TableWrap>
  );
}
