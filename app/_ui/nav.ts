import type { Role } from "../../lib/auth/roles";

/**
 * The console's navigation. A new page is a folder under app/(console)/ and one entry here
 * (DLQ, Breakers, Traces, Approvals, Replays and Alerts slot in the same way as their APIs
 * land); entries above the operator's role are not shown, and the page itself refuses them.
 */
export interface NavEntry {
  href: string;
  label: string;
  role: Role;
  group: "operate" | "inspect" | "admin";
}

export const NAV: NavEntry[] = [
  { href: "/", label: "Overview", role: "viewer", group: "operate" },
  { href: "/sources", label: "Sources", role: "viewer", group: "operate" },
  { href: "/runs", label: "Runs", role: "operator", group: "operate" },
  { href: "/search", label: "Search", role: "viewer", group: "inspect" },
  { href: "/keys", label: "API keys", role: "admin", group: "admin" },
  { href: "/audit", label: "Audit log", role: "admin", group: "admin" },
  { href: "/dlq", label: "Dead letters", role: "operator", group: "operate" },
  { href: "/alerts", label: "Alerts", role: "viewer", group: "inspect" },
  { href: "/approvals", label: "Approvals", role: "viewer", group: "admin" },
  { href: "/breakers", label: "Breakers", role: "viewer", group: "inspect" },
  { href: "/traces", label: "Traces", role: "viewer", group: "inspect" },
  { href: "/replays", label: "Replays", role: "viewer", group: "inspect" },
];

export const NAV_GROUPS: { id: NavEntry["group"]; label: string }[] = [
  { id: "operate", label: "Operate" },
  { id: "inspect", label: "Inspect" },
  { id: "admin", label: "Admin" },
];

/** The entry a path belongs to (the longest matching href). */
export function activeEntry(path: string): NavEntry | undefined {
  const bare = path.split("?")[0] ?? "/";
  return NAV.filter((e) =>
    e.href === "/" ? bare === "/" : bare === e.href || bare.startsWith(`${e.href}/`),
  ).sort((a, b) => b.href.length - a.href.length)[0];
}
