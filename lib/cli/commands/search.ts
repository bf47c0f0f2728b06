import type { Command } from "commander";
import { searchChunks } from "../../index/search";
import { getSource } from "../../pipeline/source-records";
import type { CliContext } from "../context";
import { parsePositiveInt } from "./sources";

export function registerSearchCommand(program: Command, ctx: CliContext): void {
  program
    .command("search <query>")
    .description("search the index")
    .option("-k, --k <n>", "number of results", "5")
    .option("--source <name>", "only this source")
    .option("--json", "print JSON")
    .action(async (query: string, opts: { k: string; source?: string; json?: boolean }) => {
      const runtime = await ctx.getRuntime();
      const source = opts.source ? await getSource(runtime.db, opts.source) : undefined;
      const hits = await searchChunks(runtime.db, runtime.embedder, {
        query,
        k: parsePositiveInt("--k", opts.k) ?? 5,
        sourceId: source?.id,
        efSearch: runtime.config.search.efSearch,
      });
      if (opts.json) {
        ctx.io.out(JSON.stringify({ query, results: hits }, null, 2));
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
        for (const line of hit.snippet.split("\n").slice(0, 4)) ctx.io.out(`     ${line}`);
      });
    });
}
