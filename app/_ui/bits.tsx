import type { ReactNode } from "react";

/** Small building blocks shared by every page. */

export function PageHeader({
  title,
  description,
  actions,
}: {
  title: string;
  description?: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <header className="mb-6 flex flex-wrap items-end justify-between gap-4">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">{title}</h1>
        {description ? <p className="muted mt-1 max-w-3xl text-sm">{description}</p> : null}
      </div>
      {actions ? <div className="flex flex-wrap gap-2">{actions}</div> : null}
    </header>
  );
}

export function EmptyState({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="rounded-lg border border-dashed border-slate-300 p-8 text-center dark:border-slate-700">
      <h2 className="text-base font-semibold">{title}</h2>
      <div className="muted mx-auto mt-2 max-w-xl text-sm">{children}</div>
    </div>
  );
}

export function Section({
  title,
  children,
  id,
  actions,
}: {
  title: string;
  children: ReactNode;
  id?: string;
  actions?: ReactNode;
}) {
  const headingId = id ? `${id}-title` : undefined;
  return (
    <section className="card" aria-labelledby={headingId}>
      <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
        <h2 id={headingId} className="text-base font-semibold">
          {title}
        </h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

const STATUS_STYLES: Record<string, string> = {
  succeeded: "bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100",
  ok: "bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100",
  active: "bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100",
  running: "bg-sky-100 text-sky-900 dark:bg-sky-900 dark:text-sky-100",
  queued: "bg-slate-200 text-slate-900 dark:bg-slate-700 dark:text-slate-100",
  paused: "bg-slate-200 text-slate-900 dark:bg-slate-700 dark:text-slate-100",
  completed_with_errors: "bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100",
  degraded: "bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100",
  failed: "bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100",
  down: "bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100",
  denied: "bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100",
  error: "bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100",
  cancelled: "bg-slate-200 text-slate-900 dark:bg-slate-700 dark:text-slate-100",
};

export function StatusBadge({ status }: { status: string }) {
  const style =
    STATUS_STYLES[status] ?? "bg-slate-200 text-slate-900 dark:bg-slate-700 dark:text-slate-100";
  return <span className={`badge ${style}`}>{status.replaceAll("_", " ")}</span>;
}

export function Stat({
  label,
  value,
  hint,
}: {
  label: string;
  value: ReactNode;
  hint?: ReactNode;
}) {
  return (
    <div>
      <dt className="muted text-xs font-medium tracking-wide uppercase">{label}</dt>
      <dd className="mt-1 text-xl font-semibold tabular-nums">{value}</dd>
      {hint ? <dd className="muted text-xs">{hint}</dd> : null}
    </div>
  );
}

export function FieldError({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <p id={id} className="field-error">
      {message}
    </p>
  );
}

/** A table that scrolls sideways on a phone instead of overflowing the page. */
export function TableWrap({ children, label }: { children: ReactNode; label: string }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
    <section className="overflow-x-auto" aria-label={label} tabIndex={0}>
      {children}
    </section>
  );
}
