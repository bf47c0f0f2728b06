import type { SearchHit } from "../../../lib/index/search";
import { formatPercent } from "../../_ui/format";

/**
 * Why a result matched. Today: its cosine similarity. The search ranking work (issue 10)
 * adds an explanation per hit (which signals ranked it); it renders here, under the score,
 * when the hit carries one.
 */
export function WhyItMatched({
  hit,
}: {
  hit: SearchHit & { explanation?: { label: string; detail?: string }[] };
}) {
  return (
    <div className="muted text-xs" data-testid="why">
      <span>
        Similarity <strong className="tabular-nums">{hit.score.toFixed(3)}</strong> (
        {formatPercent(Math.max(0, hit.score))})
      </span>
      {hit.explanation && hit.explanation.length > 0 ? (
        <ul className="mt-1 list-disc pl-5">
          {hit.explanation.map((e) => (
            <li key={e.label}>
              {e.label}
              {e.detail ? `: ${e.detail}` : ""}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
