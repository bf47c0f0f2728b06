import Link from "next/link";
import type { ReactNode } from "react";
import { can, currentPath, requirePage } from "../_lib/session";
import { activeEntry, NAV, NAV_GROUPS } from "../_ui/nav";

export const dynamic = "force-dynamic";

/**
 * The console's frame: navigation (a sidebar on a laptop, a scrolling bar on a phone), who is
 * signed in, sign-out. Every page below checks the session and its role itself as well.
 */
export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const viewer = await requirePage("viewer");
  const path = await currentPath();
  const active = activeEntry(path);
  const entries = NAV.filter((e) => can(viewer, e.role));
  return (
    <div className="md:flex md:min-h-screen">
      <a
        href="#main"
        className="sr-only z-50 rounded-md bg-white px-3 py-2 focus:not-sr-only focus:absolute focus:top-2 focus:left-2 dark:bg-slate-900"
      >
        Skip to content
      </a>
      <aside className="border-b border-slate-200 bg-white md:w-56 md:shrink-0 md:border-r md:border-b-0 dark:border-slate-800 dark:bg-slate-900">
        <div className="flex items-center justify-between gap-2 px-4 py-3 md:block md:py-5">
          <Link
            href="/"
            className="text-lg font-semibold tracking-tight text-slate-900 no-underline dark:text-slate-100"
          >
            Ballast
          </Link>
          <p className="muted text-xs md:mt-1">operator console</p>
        </div>
        <nav aria-label="Console" className="overflow-x-auto px-2 pb-2 md:overflow-visible md:pb-6">
          <ul className="flex gap-1 md:block md:space-y-4">
            {NAV_GROUPS.map((group) => {
              const items = entries.filter((e) => e.group === group.id);
              if (items.length === 0) return null;
              return (
                <li key={group.id} className="contents md:block">
                  <p className="muted hidden px-3 pb-1 text-xs font-semibold tracking-wide uppercase md:block">
                    {group.label}
                  </p>
                  <ul className="contents md:block md:space-y-0.5">
                    {items.map((entry) => {
                      const current = entry.href === active?.href;
                      return (
                        <li key={entry.href}>
                          <Link
                            href={entry.href}
                            aria-current={current ? "page" : undefined}
                            className={`block rounded-md px-3 py-2 text-sm whitespace-nowrap no-underline ${
                              current
                                ? "bg-accent-100 font-semibold text-accent-900 dark:bg-accent-900 dark:text-accent-100"
                                : "text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800"
                            }`}
                          >
                            {entry.label}
                          </Link>
                        </li>
                      );
                    })}
                  </ul>
                </li>
              );
            })}
          </ul>
        </nav>
      </aside>
      <div className="min-w-0 flex-1">
        <div className="flex flex-wrap items-center justify-end gap-3 border-b border-slate-200 px-4 py-2 text-sm md:px-8 dark:border-slate-800">
          <span>
            Signed in as <strong>{viewer.name}</strong>{" "}
            <span className="badge bg-slate-200 text-slate-900 dark:bg-slate-700 dark:text-slate-100">
              {viewer.role}
            </span>
          </span>
          <form method="post" action="/auth/logout">
            <button type="submit" className="btn-secondary">
              Sign out
            </button>
          </form>
        </div>
        <main id="main" className="mx-auto max-w-6xl px-4 py-6 md:px-8">
          {children}
        </main>
      </div>
    </div>
  );
}
