import type { SearchHit } from "../../../lib/index/search";

/**
 * Why a result matched: the same explanation the API returns and `ballast search --explain`
 * prints — the lexical terms with their weights, the vector similarity, both ranks, path and
 * symbol matches, and a low-weight path's factor.
 */
export function WhyItMatched({ hit }: { hit: SearchHit }) {
  const { why } = hit;
  return (
    <details className="muted mt-2 text-xs" data-testid="why">
      <summary className="cursor-pointer">
        Why it matched: score <strong className="tabular-nums">{hit.score.toFixed(3)}</strong>
        {why.lexical.rank ? ` · lexical #${why.lexical.rank}` : " · no query term"}
        {why.vector.rank ? ` · vector #${why.vector.rank}` : ""}
        {why.pathWeight < 1 ? ` · low-weight path ×${why.pathWeight}` : ""}
      </summary>
      <dl className="mt-1 grid grid-cols-[auto_1fr] gap-x-3 gap-y-1">
        <dt>Lexical</dt>
        <dd>
          <span className="tabular-nums">{why.lexical.score.toFixed(2)}</span>
          {why.lexical.terms.length > 0 ? (
            <ul className="mt-1 flex flex-wrap gap-1" aria-label="Matched terms">
              {why.lexical.terms.map((t) => (
                <li key={`${t.field}:${t.term}`} className="rounded border px-1">
                  {t.field === "body" ? "" : `${t.field}: `}
                  <code>{t.term}</code> <span className="tabular-nums">+{t.weight.toFixed(2)}</span>
                </li>
              ))}
            </ul>
          ) : null}
        </dd>
        <dt>Vector</dt>
        <dd className="tabular-nums">
          {why.vector.similarity === null
            ? "not among the vector candidates"
            : `similarity ${why.vector.similarity.toFixed(3)}`}
        </dd>
        {why.pathMatch.length > 0 ? (
          <>
            <dt>Path</dt>
            <dd>{why.pathMatch.join(", ")}</dd>
          </>
        ) : null}
        {why.symbolMatch.length > 0 ? (
          <>
            <dt>Symbol</dt>
            <dd>{why.symbolMatch.join(", ")}</dd>
          </>
        ) : null}
      </dl>
    </details>
  );
}
