import type { Command } from "commander";
import type { SearchHit } from "../../index/search";
import { parsePositiveInt } from "../args";
import type { CliContext } from "../context";

export function registerSearchCommand(program: Command, ctx: CliContext): void {
  program
    .command("search <query>")
    .description("search the index")
    .option("-k, --k <n>", "number of results", "5")
    .option("--source <name>", "only this source")
    .option("--mode <mode>", "hybrid (default), lexical or vector")
    .option(
      "--explain",
      "say why each result matched: terms and weights, vector similarity, path and symbol",
    )
    .option("--json", "print JSON")
    .action(
      async (
        query: string,
        opts: { k: string; source?: string; mode?: string; explain?: boolean; json?: boolean },
      ) => {
        const { parseSearchMode, searchChunks, validateSearch } = await import(
          "../../index/search"
        );
        const mode = parseSearchMode(opts.mode);
        const k = parsePositiveInt("--k", opts.k) ?? 5;
        validateSearch(query, k); // before the database opens (searchChunks checks it again)
        const runtime = await ctx.getRuntime();
        const { getSource } = await import("../../pipeline/source-records");
        const source = opts.source ? await getSource(runtime.db, opts.source) : undefined;
        const hits = await searchChunks(runtime.db, runtime.embedder, {
          query,
          k,
          sourceId: source?.id,
          efSearch: runtime.config.search.efSearch,
          mode,
          ranking: runtime.config.search.ranking,
        });
        if (opts.json) {
          ctx.io.out(
            JSON.stringify(
              { query, mode, results: opts.explain ? hits : hits.map(({ why: _, ...hit }) => hit) },
              null,
              2,
            ),
          );
          return;
        }
        if (hits.length === 0) {
          ctx.io.out("no results (is anything indexed? `ballast sources list`)");
          return;
        }
        hits.forEach((hit, i) => {
          ctx.io.out(
            `${i + 1}. ${hit.source}:${hit.path}:${hit.startLine}-${hit.endLine}  score ${hit.score.toFixed(3)}${hit.heading ? `  (${hit.heading})` : ""}`,
          );
          if (opts.explain) for (const line of explain(hit)) ctx.io.out(`     ${line}`);
          for (const line of hit.snippet.split("\n").slice(0, 4)) ctx.io.out(`     ${line}`);
        });
      },
    );
}

/** Why a hit matched, in a few lines. */
export function explain(hit: SearchHit): string[] {
  const { why } = hit;
  const lines: string[] = [];
  const terms = why.lexical.terms
    .map((t) => `${t.field === "body" ? "" : `${t.field}:`}${t.term} ${t.weight.toFixed(2)}`)
    .join(", ");
  lines.push(
    `why: lexical ${why.lexical.score.toFixed(2)}${why.lexical.rank ? ` (#${why.lexical.rank})` : " (no query term)"}${terms ? ` = ${terms}` : ""}`,
  );
  lines.push(
    `     vector similarity ${why.vector.similarity === null ? "n/a" : why.vector.similarity.toFixed(3)}${why.vector.rank ? ` (#${why.vector.rank})` : ""}; fused ${why.fused.toFixed(3)}${why.pathWeight < 1 ? ` × ${why.pathWeight} (low-weight path)` : ""}`,
  );
  if (why.pathMatch.length > 0 || why.symbolMatch.length > 0)
    lines.push(
      `     ${[why.pathMatch.length ? `path matches ${why.pathMatch.join(", ")}` : "", why.symbolMatch.length ? `symbol matches ${why.symbolMatch.join(", ")}` : ""].filter(Boolean).join("; ")}`,
    );
  return lines;
}
