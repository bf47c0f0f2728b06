import path from "node:path";
import type { Command } from "commander";
import { ValidationError } from "../../errors";
import type { EvalReport } from "../../eval/run";
import { parsePositiveInt } from "../args";
import type { CliContext } from "../context";
import { table } from "../output";

export function registerEvalCommand(program: Command, ctx: CliContext): void {
  program
    .command("eval")
    .description(
      "measure search quality on a golden set: recall@k, MRR@10, nDCG@10 for lexical, vector, hybrid and a BM25 baseline",
    )
    .requiredOption("--golden <file>", "golden set (JSON; format in the README)")
    .option(
      "--source <name>",
      "evaluate this indexed source (default: index the golden set's own source into a temporary in-memory database)",
    )
    .option("-k, --k <n>", "recall cut-off", "10")
    .option("--json", "print the report as JSON")
    .action(async (opts: { golden: string; source?: string; k: string; json?: boolean }) => {
      const k = parsePositiveInt("--k", opts.k) ?? 10;
      if (k > 100)
        throw new ValidationError("--k must be at most 100", [{ path: "--k", message: opts.k }]);
      const [{ getConfig }, { loadGolden }, { runEvalSession }, { createLogger }] =
        await Promise.all([
          import("../../config"),
          import("../../eval/golden"),
          import("../../eval/session"),
          import("../../log/logger"),
        ]);
      const golden = await loadGolden(opts.golden);
      const config = getConfig();
      const root = ctx.root ?? process.cwd();
      const { report, sync } = await runEvalSession(golden, {
        k,
        root,
        config,
        sourceName: opts.source,
        runtime: opts.source ? await ctx.getRuntime() : undefined,
        efSearch: config.search.efSearch,
        log: createLogger({
          level: ctx.verbose ? "info" : "warn",
          secrets: config.secrets,
          destination: { write: (line: string) => process.stderr.write(line) },
          base: { cli: true },
        }),
        migrationsFolder: path.join(root, "db", "migrations"),
        onProgress: (message) => ctx.io.err(message),
      });
      if (opts.json) {
        ctx.io.out(JSON.stringify(sync ? { ...report, sync } : report, null, 2));
        return;
      }
      ctx.io.out(renderEvalReport(report));
    });
}

const fmt = (n: number | undefined) => (n === undefined ? "" : n.toFixed(3));

/** Per-query recall@5 / reciprocal rank for each system, then the means. */
export function renderEvalReport(report: EvalReport): string {
  const systems = Object.entries(report.systems);
  const lines: string[] = [];
  lines.push(
    `golden set ${report.golden}: ${report.documents} documents, ${report.chunks} chunks (source ${report.source.name}${report.source.commit ? ` @ ${report.source.commit.slice(0, 12)}` : ""})${report.baselineChunks !== null ? `; BM25 baseline over ${report.baselineChunks} LangChain chunks` : ""}`,
  );
  if (report.baselineError) lines.push(`BM25 baseline skipped: ${report.baselineError}`);
  for (const m of report.missingExpected)
    lines.push(`warning: ${m.id} expects ${m.path}, which is not indexed`);
  const first = systems[0]?.[1];
  if (first) {
    lines.push(
      table(
        ["question", ...systems.map(([name]) => `${name} R@5 / RR`)],
        first.queries.map((q, i) => [
          `${q.id} ${q.question.length > 48 ? `${q.question.slice(0, 47)}…` : q.question}`,
          ...systems.map(([, s]) => {
            const r = s.queries[i];
            return r ? `${fmt(r.recallAt5)} / ${fmt(r.mrrAt10)}` : "";
          }),
        ]),
      ),
    );
  }
  lines.push(
    table(
      ["system", "recall@5", `recall@${report.k}`, "MRR@10", "nDCG@10", "mean ms"],
      systems.map(([name, s]) => [
        name,
        fmt(s.overall.recallAt5),
        fmt(s.overall.recallAtK),
        fmt(s.overall.mrrAt10),
        fmt(s.overall.ndcgAt10),
        s.overall.meanMs,
      ]),
    ),
  );
  return lines.join("\n");
}
