"use client";

import { useRouter } from "next/navigation";
import { type ReactNode, useEffect, useState } from "react";

/**
 * Keeps a server-rendered section current: it listens to /api/admin/activity/events (Server-Sent
 * Events, sent when a run moves) and asks the server to re-render the page on each event. No
 * timer polls; when nothing moves, nothing is fetched.
 */
export function LiveActivity({ children }: { children: ReactNode; initialCount?: number }) {
  const router = useRouter();
  const [state, setState] = useState<"connecting" | "live" | "offline">("connecting");
  useEffect(() => {
    const source = new EventSource("/api/admin/activity/events");
    source.onopen = () => setState("live");
    source.addEventListener("activity", () => router.refresh());
    source.onerror = () =>
      setState(source.readyState === EventSource.CLOSED ? "offline" : "connecting");
    return () => source.close();
  }, [router]);
  return (
    <div>
      <p className="muted mb-2 text-xs" aria-live="off" data-live-state={state}>
        {state === "live"
          ? "● Live"
          : state === "connecting"
            ? "○ Connecting…"
            : "○ Live updates paused"}
      </p>
      {children}
    </div>
  );
}
