import Link from "next/link";
import { MAX_K, MAX_QUERY_CHARS, type SearchHit, searchChunks } from "../../../lib/index/search";
import { findSource, listSources } from "../../../lib/pipeline/source-records";
import { requirePage } from "../../_lib/session";
import { EmptyState, PageHeader } from "../../_ui/bits";
import { highlight } from "./highlight";
import { WhyItMatched } from "./why";

export const dynamic = "force-dynamic";
export const metadata = { title: "Search" };

type Search = Promise<Record<string, string | string[] | undefined>>;

function one(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? "";
}

export default async function SearchPage({ searchParams }: { searchParams: Search }) {
  const viewer = await requirePage("viewer");
  const { runtime } = viewer;
  const params = await searchParams;
  const q = one(params.q).trim();
  const sourceName = one(params.source);
  const kText = one(params.k);
  const k = /^\d{1,3}$/.test(kText) ? Number(kText) : 10;
  const sources = await listSources(runtime.db);
  let error: { field: "q" | "k" | "source"; message: string } | undefined;
  let results: SearchHit[] | undefined;
  let tookMs = 0;
  if (q.length > MAX_QUERY_CHARS)
    error = {
      field: "q",
      message: `at most ${MAX_QUERY_CHARS} characters (this one has ${q.length})`,
    };
  else if (k < 1 || k > MAX_K) error = { field: "k", message: `from 1 to ${MAX_K}` };
  const source = sourceName ? await findSource(runtime.db, sourceName) : undefined;
  if (!error && sourceName && !source)
    error = { field: "source", message: `no source named “${sourceName}”` };
  if (!error && q) {
    const started = performance.now();
    results = await searchChunks(runtime.db, runtime.embedder, {
      query: q,
      k,
      sourceId: source?.id,
      efSearch: runtime.config.search.efSearch,
      ranking: runtime.config.search.ranking,
    });
    tookMs = performance.now() - started;
  }
  return (
    <>
      <PageHeader title="Search" description="Query the index the way the search API does." />
      <search>
        <form
          method="get"
          className="card mb-6 grid gap-4 sm:grid-cols-[1fr_auto_auto_auto] sm:items-end"
          noValidate
        >
          <div>
            <label htmlFor="q" className="field-label">
              Query
            </label>
            <input
              id="q"
              name="q"
              type="search"
              defaultValue={q}
              className="input"
              placeholder="how are webhook signatures verified?"
              aria-invalid={error?.field === "q" ? true : undefined}
              aria-describedby={error?.field === "q" ? "q-error" : undefined}
            />
            {error?.field === "q" ? (
              <p id="q-error" className="field-error">
                {error.message}
              </p>
            ) : null}
          </div>
          <div>
            <label htmlFor="source" className="field-label">
              Source
            </label>
            <select
              id="source"
              name="source"
              defaultValue={sourceName}
              className="input"
              aria-invalid={error?.field === "source" ? true : undefined}
              aria-describedby={error?.field === "source" ? "source-error" : undefined}
            >
              <option value="">All sources</option>
              {sources.map((s) => (
                <option key={s.id} value={s.name}>
                  {s.name}
                </option>
              ))}
            </select>
            {error?.field === "source" ? (
              <p id="source-error" className="field-error">
                {error.message}
              </p>
            ) : null}
          </div>
          <div>
            <label htmlFor="k" className="field-label">
              Results
            </label>
            <input
              id="k"
              name="k"
              type="number"
              min={1}
              max={MAX_K}
              defaultValue={k}
              className="input w-24"
              aria-invalid={error?.field === "k" ? true : undefined}
              aria-describedby={error?.field === "k" ? "k-error" : undefined}
            />
            {error?.field === "k" ? (
              <p id="k-error" className="field-error">
                {error.message}
              </p>
            ) : null}
          </div>
          <button type="submit" className="btn-primary">
            Search
          </button>
        </form>
      </search>
      {sources.length === 0 ? (
        <EmptyState title="The index is empty">
          Add a source in <Link href="/sources">Sources</Link> and sync it; its files become
          searchable as they are indexed.
        </EmptyState>
      ) : results === undefined ? (
        error ? null : (
          <p className="muted text-sm">
            Type a question or some code words; results show the best matching chunks.
          </p>
        )
      ) : results.length === 0 ? (
        <EmptyState title="No results">
          Nothing in {source ? source.name : "the index"} matches. Try other words.
        </EmptyState>
      ) : (
        <section aria-labelledby="results-title">
          <h2 id="results-title" className="muted mb-3 text-sm">
            {results.length} result{results.length === 1 ? "" : "s"} in {tookMs.toFixed(0)} ms
          </h2>
          <ol className="space-y-3">
            {results.map((hit) => (
              <li key={hit.chunkId} className="card" data-testid="search-result">
                <div className="flex flex-wrap items-baseline justify-between gap-2">
                  <p className="font-mono text-sm break-all">
                    <span className="muted">{hit.source} · </span>
                    <strong>{hit.path}</strong>
                    <span className="muted">
                      :{hit.startLine}–{hit.endLine}
                    </span>
                  </p>
                  <WhyItMatched hit={hit} />
                </div>
                {hit.heading ? <p className="muted mt-1 text-xs">{hit.heading}</p> : null}
                <pre className="mt-2 overflow-x-auto rounded-md bg-slate-100 p-3 text-xs whitespace-pre-wrap dark:bg-slate-950">
                  {highlight(hit.snippet, q).map((part, i) =>
                    part.match ? (
                      // biome-ignore lint/suspicious/noArrayIndexKey: parts are positional
                      <mark key={i}>{part.text}</mark>
                    ) : (
                      // biome-ignore lint/suspicious/noArrayIndexKey: parts are positional
                      <span key={i}>{part.text}</span>
                    ),
                  )}
                </pre>
              </li>
            ))}
          </ol>
        </section>
      )}
    </>
  );
}
