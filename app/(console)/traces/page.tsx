import Link from "next/link";
import { ZodError } from "zod";
import { SPAN_STATUSES } from "../../../db/schema";
import { BallastError } from "../../../lib/errors";
import { queryTraces, type TraceView } from "../../../lib/traces/query";
import { requirePage } from "../../_lib/session";
import { EmptyState, PageHeader, Section } from "../../_ui/bits";
import { TraceTable } from "../../_ui/trace-table";

export const dynamic = "force-dynamic";
export const metadata = { title: "Traces" };

type Search = Promise<Record<string, string | string[] | undefined>>;

const FIELDS = ["correlation", "run", "function", "status", "from", "to"] as const;
type Field = (typeof FIELDS)[number];

/** `datetime-local` values are read as UTC (the console shows UTC everywhere). */
function asIso(value: string): string {
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(value) ? `${value}:00Z` : value;
}

export default async function TracesPage({ searchParams }: { searchParams: Search }) {
  const viewer = await requirePage("viewer");
  const raw = await searchParams;
  const values: Partial<Record<Field, string>> = {};
  for (const f of FIELDS) {
    const v = raw[f];
    if (typeof v === "string" && v.trim() !== "") values[f] = v.trim();
  }
  const cursor = typeof raw.cursor === "string" && raw.cursor !== "" ? raw.cursor : undefined;
  const params: Record<string, string> = { limit: "50" };
  for (const [k, v] of Object.entries(values))
    params[k] = k === "from" || k === "to" ? asIso(v) : v;
  if (cursor) params.cursor = cursor;

  let result: { traces: TraceView[]; nextCursor: string | null } = {
    traces: [],
    nextCursor: null,
  };
  const errors: Record<string, string> = {};
  try {
    result = await queryTraces(viewer.runtime.db, params);
  } catch (error) {
    if (error instanceof ZodError)
      for (const issue of error.issues) errors[String(issue.path[0] ?? "form")] ??= issue.message;
    else if (error instanceof BallastError && error.status < 500)
      for (const issue of error.issues ?? [{ path: "form", message: error.message }])
        errors[issue.path.split(".")[0] || "form"] ??=
          issue.message === "invalid" ? error.message : issue.message;
    else throw error;
  }
  const query = new URLSearchParams(values as Record<string, string>);
  const filtered = Object.keys(values).length > 0;
  const field = (name: Field, label: string, hint: string, type = "text") => {
    const id = `trace-${name}`;
    const error = errors[name];
    return (
      <div>
        <label htmlFor={id} className="field-label">
          {label}
        </label>
        <input
          id={id}
          name={name}
          type={type}
          defaultValue={values[name]?.replace(/:00(\.000)?Z$/, "")}
          className="input"
          aria-invalid={error ? true : undefined}
          aria-describedby={`${id}-hint${error ? ` ${id}-error` : ""}`}
        />
        {error ? (
          <p id={`${id}-error`} className="field-error">
            {error}
          </p>
        ) : null}
        <p id={`${id}-hint`} className="field-hint">
          {hint}
        </p>
      </div>
    );
  };
  return (
    <>
      <PageHeader
        title="Traces"
        description="Every workflow step and external call, with its status and duration. Filter by correlation id to follow one request across functions."
      />
      <div className="space-y-6">
        <Section title="Filter" id="filter">
          <form method="get" action="/traces" className="grid gap-4 sm:grid-cols-3">
            {field("correlation", "Correlation id", "e.g. from a run page or an API response")}
            {field("run", "Run id", "a sync run's UUID")}
            {field("function", "Function", "e.g. sync-source, error-recovery")}
            <div>
              <label htmlFor="trace-status" className="field-label">
                Status
              </label>
              <select
                id="trace-status"
                name="status"
                defaultValue={values.status ?? ""}
                className="input"
                aria-invalid={errors.status ? true : undefined}
              >
                <option value="">any</option>
                {SPAN_STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            </div>
            {field("from", "From (UTC)", "started at or after", "datetime-local")}
            {field("to", "To (UTC)", "started before", "datetime-local")}
            <div className="flex gap-2 sm:col-span-3">
              <button type="submit" className="btn-primary">
                Filter
              </button>
              {filtered ? (
                <Link href="/traces" className="btn-secondary no-underline">
                  Clear
                </Link>
              ) : null}
            </div>
          </form>
          {errors.form ? (
            <p className="notice-error mt-3" role="alert">
              {errors.form}
            </p>
          ) : null}
          {errors.cursor ? (
            <p className="notice-error mt-3" role="alert">
              {errors.cursor}: <Link href={`/traces?${query}`}>start from the first page</Link>
            </p>
          ) : null}
        </Section>
        {result.traces.length === 0 ? (
          <EmptyState title={filtered ? "No span matches" : "No traces yet"}>
            {filtered
              ? "Widen the time range or clear a filter."
              : "Spans are recorded as workflows run: start a sync from Sources and come back."}
          </EmptyState>
        ) : (
          <Section
            title={`Spans (${result.traces.length}${result.nextCursor ? "+" : ""})`}
            id="spans"
          >
            <TraceTable spans={result.traces} label="Trace spans" />
            <nav aria-label="Pages" className="mt-3 flex gap-3 text-sm">
              {cursor ? <Link href={`/traces?${query}`}>First page</Link> : null}
              {result.nextCursor ? (
                <Link
                  href={`/traces?${new URLSearchParams({ ...values, cursor: result.nextCursor })}`}
                >
                  Next page
                </Link>
              ) : null}
            </nav>
          </Section>
        )}
      </div>
    </>
  );
}
