import type { ReactNode } from "react";
import type { Role } from "../../../lib/auth/roles";
import type { Viewer } from "../../_lib/session";
import { ActiveRunsPanel } from "./active-runs";
import { BreakersPanel, DlqPanel, FiringAlertsPanel } from "./attention";
import { HealthPanel } from "./health";
import { RecentFailuresPanel } from "./recent-failures";
import { ThroughputPanel } from "./throughput";

/**
 * The Overview is a list of panels. A panel is an async server component that renders its
 * section, or nothing (null) when it has nothing to show — the DLQ, breaker and alert panels
 * join this list as their records land, each showing up only when there is data.
 */
export interface OverviewPanel {
  id: string;
  role: Role;
  /** "wide" spans the grid's full width. */
  width: "wide" | "half";
  render: (viewer: Viewer) => Promise<ReactNode>;
}

export const OVERVIEW_PANELS: OverviewPanel[] = [
  { id: "health", role: "viewer", width: "half", render: (v) => HealthPanel({ viewer: v }) },
  {
    id: "active-runs",
    role: "operator",
    width: "half",
    render: (v) => ActiveRunsPanel({ viewer: v }),
  },
  {
    id: "throughput",
    role: "viewer",
    width: "wide",
    render: (v) => ThroughputPanel({ viewer: v }),
  },
  {
    id: "recent-failures",
    role: "operator",
    width: "wide",
    render: (v) => RecentFailuresPanel({ viewer: v }),
  },
  { id: "dlq", role: "operator", width: "half", render: (v) => DlqPanel({ viewer: v }) },
  {
    id: "open-breakers",
    role: "viewer",
    width: "half",
    render: (v) => BreakersPanel({ viewer: v }),
  },
  {
    id: "firing-alerts",
    role: "viewer",
    width: "wide",
    render: (v) => FiringAlertsPanel({ viewer: v }),
  },
];
