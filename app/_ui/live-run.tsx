"use client";

import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
// A type only (erased from the browser bundle): the `progress` / `end` event of
// GET /api/admin/runs/:id/events, as lib/pipeline/progress.ts builds it.
import type { RunProgress } from "../../lib/pipeline/progress";

function eta(seconds: number | null): string {
  if (seconds === null) return "—";
  if (seconds < 60) return `${seconds} s`;
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/**
 * A running run's progress as it happens: the run's Server-Sent Events stream (its own writes
 * drive it; nothing polls). When the run ends the page re-renders on the server with the final
 * counts and failures.
 */
export function LiveRun({ runId, initial }: { runId: string; initial: RunProgress }) {
  const router = useRouter();
  const [progress, setProgress] = useState<RunProgress>(initial);
  const [connection, setConnection] = useState<"connecting" | "live" | "ended" | "lost">(
    "connecting",
  );
  useEffect(() => {
    const source = new EventSource(`/api/admin/runs/${runId}/events`);
    const onProgress = (event: MessageEvent<string>) => {
      setConnection("live");
      setProgress(JSON.parse(event.data) as RunProgress);
    };
    source.addEventListener("progress", onProgress as EventListener);
    source.addEventListener("end", ((event: MessageEvent<string>) => {
      setProgress(JSON.parse(event.data) as RunProgress);
      setConnection("ended");
      source.close();
      router.refresh();
    }) as EventListener);
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) setConnection("lost");
    };
    return () => source.close();
  }, [runId, router]);
  const total = Math.max(progress.planned, progress.documentsDone);
  return (
    <section className="card" aria-labelledby="live-title">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 id="live-title" className="text-base font-semibold">
          Progress
        </h2>
        <span className="muted text-xs" data-testid="live-state">
          {connection === "live"
            ? "● Live"
            : connection === "ended"
              ? "Finished"
              : connection === "lost"
                ? "○ Disconnected"
                : "○ Connecting…"}
        </span>
      </div>
      <p className="mt-2 text-sm">
        Phase: <strong data-testid="live-phase">{progress.phase}</strong>
      </p>
      <progress
        className="mt-3 h-3 w-full accent-accent-600"
        max={total || 1}
        value={progress.documentsDone}
        aria-label="Documents done"
      />
      <dl className="mt-3 grid grid-cols-2 gap-3 text-sm sm:grid-cols-4" aria-live="polite">
        <div>
          <dt className="muted text-xs">Documents</dt>
          <dd className="tabular-nums" data-testid="live-done">
            {progress.documentsDone} / {progress.planned}
          </dd>
        </div>
        <div>
          <dt className="muted text-xs">Failed</dt>
          <dd className="tabular-nums">{progress.failed}</dd>
        </div>
        <div>
          <dt className="muted text-xs">Chunks embedded</dt>
          <dd className="tabular-nums">{progress.chunksEmbedded}</dd>
        </div>
        <div>
          <dt className="muted text-xs">Rate · ETA</dt>
          <dd className="tabular-nums">
            {progress.ratePerMinute ?? "—"}/min · {eta(progress.etaSeconds)}
          </dd>
        </div>
      </dl>
    </section>
  );
}
