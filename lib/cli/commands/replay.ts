import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { ValidationError } from "../../errors";
import { parsePositiveInt } from "../args";
import type { CliContext } from "../context";
import { table } from "../output";

function parseDate(name: string, value: string): Date {
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime()))
    throw new ValidationError(`${name} must be a date or time (ISO 8601, e.g. 2026-12-01T00:00Z)`, [
      { path: name, message: value.slice(0, 60) },
    ]);
  return date;
}

function parseFraction(name: string, value: string | undefined, max = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > max)
    throw new ValidationError(`${name} must be a number from 0 to ${max}`, [
      { path: name, message: value.slice(0, 40) },
    ]);
  return n;
}

function parseNonNegativeInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value))
    throw new ValidationError(`${name} must be a whole number ≥ 0`, [
      { path: name, message: value.slice(0, 40) },
    ]);
  return Number(value);
}

/**
 * `ballast replay`: export a window of recorded traffic as a bundle, import one made
 * elsewhere, re-run it through this code in a sandbox and gate on the scorecard, list and
 * show scorecards, sign one off.
 */
export function registerReplayCommands(program: Command, ctx: CliContext): void {
  const replay = program
    .command("replay")
    .description("replay recorded traffic through this code and gate releases on the result");

  replay
    .command("export")
    .description("write a replay bundle: events, ledger entries, config hash, repository state")
    .requiredOption("--since <time>", "start of the window (ISO 8601)")
    .requiredOption("--until <time>", "end of the window (ISO 8601, exclusive)")
    .option("--source <name>", "only this source's runs")
    .option("--runs <ids>", "only these runs (comma-separated ids)")
    .option("--out <file>", "write the bundle to this file (default: the archive store)")
    .action(
      async (opts: {
        since: string;
        until: string;
        source?: string;
        runs?: string;
        out?: string;
      }) => {
        const since = parseDate("--since", opts.since);
        const until = parseDate("--until", opts.until);
        const runIds = opts.runs
          ?.split(",")
          .map((r) => r.trim())
          .filter(Boolean);
        const runtime = await ctx.getRuntime();
        const { encodeBundle, exportBundle, storeBundle } = await import("../../replay/bundle");
        const bundle = await exportBundle(runtime, {
          since,
          until,
          source: opts.source,
          runIds,
        });
        let where: string;
        if (opts.out) {
          const bytes = encodeBundle(bundle);
          await writeFile(opts.out, bytes);
          where = `${opts.out} (${bytes.byteLength} bytes)`;
        } else where = `archive:${await storeBundle(runtime.archive, bundle)}`;
        ctx.io.err(
          `bundle ${bundle.id}: ${bundle.runs.length} run(s), ${bundle.entries.length} ledger entries, ${bundle.repositories.length} repository state(s)${bundle.skippedRuns.length > 0 ? `; ${bundle.skippedRuns.length} run(s) not in the ledger` : ""}`,
        );
        ctx.io.out(where);
      },
    );

  replay
    .command("import")
    .description("check a bundle made elsewhere and keep it in this deployment's archive store")
    .requiredOption("--bundle <file>", "the bundle file")
    .action(async (opts: { bundle: string }) => {
      let bytes: Buffer;
      try {
        bytes = await readFile(opts.bundle);
      } catch (error) {
        throw new ValidationError(
          `cannot read ${path.basename(opts.bundle)}: ${(error as NodeJS.ErrnoException).code ?? "unreadable"}`,
          [{ path: "--bundle", message: "unreadable" }],
        );
      }
      const runtime = await ctx.getRuntime();
      const { importBundle } = await import("../../replay/bundle");
      const { key, bundle } = await importBundle(runtime.archive, bytes);
      ctx.io.err(
        `bundle ${bundle.id}: ${bundle.runs.length} run(s) from ${bundle.window.since} to ${bundle.window.until}`,
      );
      ctx.io.out(`archive:${key}`);
    });

  replay
    .command("run")
    .description(
      "re-run a bundle in a sandbox, diff against its ledger, print and store the scorecard",
    )
    .requiredOption("--bundle <ref>", "a bundle file, or archive:<key>")
    .option("--min-pass-rate <rate>", "exit 1 below this pass rate (0-1)")
    .option("--golden <file>", "measure search quality on this golden set over the replayed index")
    .option("--golden-source <name>", "the replayed source the golden set is about")
    .option("-k, --k <n>", "recall cut-off for --golden", "10")
    .option(
      "--latency-tolerance <fraction>",
      "latency tolerance (default REPLAY_LATENCY_TOLERANCE)",
    )
    .option("--latency-floor-ms <ms>", "latency floor (default REPLAY_LATENCY_FLOOR_MS)")
    .option("--json", "print the scorecard as JSON instead of Markdown")
    .option("--markdown <file>", "also write the Markdown scorecard to this file")
    .action(
      async (opts: {
        bundle: string;
        minPassRate?: string;
        golden?: string;
        goldenSource?: string;
        k: string;
        latencyTolerance?: string;
        latencyFloorMs?: string;
        json?: boolean;
        markdown?: string;
      }) => {
        const passRate = parseFraction("--min-pass-rate", opts.minPassRate);
        const latency = parseFraction("--latency-tolerance", opts.latencyTolerance, 10);
        const floorMs = parseNonNegativeInt("--latency-floor-ms", opts.latencyFloorMs);
        const k = parsePositiveInt("--k", opts.k) ?? 10;
        const runtime = await ctx.getRuntime();
        const minPassRate = passRate ?? runtime.config.replay.minPassRate;
        const [{ loadGolden }, { loadBundle }, { runReplay }, scorecards] = await Promise.all([
          import("../../eval/golden"),
          import("../../replay/bundle"),
          import("../../replay/runner"),
          import("../../replay/scorecard"),
        ]);
        const { buildScorecard, renderMarkdown, storeScorecard } = scorecards;
        const golden = opts.golden ? await loadGolden(opts.golden) : undefined;
        const { bundle, ref } = await loadBundle(opts.bundle, runtime.archive);
        const result = await runReplay(bundle, {
          config: runtime.config,
          tolerance: { latency, floorMs },
          golden: golden ? { set: golden, source: opts.goldenSource, k } : undefined,
          migrationsFolder: ctx.migrationsFolder(),
          onProgress: (message) => ctx.io.err(message),
        });
        const card = buildScorecard(result, {
          minPassRate,
          secrets: runtime.config.secrets,
          bundleRef: ref,
        });
        const { report } = await storeScorecard(runtime.db, card, { trigger: "cli" });
        const markdown = renderMarkdown(card);
        if (opts.markdown) await writeFile(opts.markdown, markdown);
        ctx.io.out(opts.json ? JSON.stringify({ id: report.id, ...card }, null, 2) : markdown);
        ctx.io.err(
          `scorecard ${report.id}: pass rate ${card.passRate} (gate ${minPassRate}) — ${card.gate.passed ? "passed" : `FAILED: ${card.gate.why.join("; ")}`}`,
        );
        if (!card.gate.passed) ctx.exitCode = 1;
      },
    );

  replay
    .command("list")
    .description("recent replay scorecards")
    .option("--limit <n>", "how many", "20")
    .option("--json", "print JSON")
    .action(async (opts: { limit: string; json?: boolean }) => {
      const limit = parsePositiveInt("--limit", opts.limit);
      const runtime = await ctx.getRuntime();
      const { listScorecards } = await import("../../replay/scorecard");
      const reports = await listScorecards(runtime.db, { limit });
      if (opts.json) {
        ctx.io.out(JSON.stringify(reports, null, 2));
        return;
      }
      ctx.io.out(
        table(
          ["id", "when", "trigger", "events", "pass", "drift", "critical", "pass rate", "gate"],
          reports.map((r) => [
            r.id,
            r.createdAt,
            r.trigger,
            r.events,
            r.passed,
            r.drift,
            r.critical,
            r.passRate,
            r.gatePassed ? `passed (${r.minPassRate})` : `FAILED (${r.minPassRate})`,
          ]),
        ),
      );
    });

  replay
    .command("show <id>")
    .description("one scorecard, as Markdown (or JSON)")
    .option("--json", "print JSON")
    .action(async (id: string, opts: { json?: boolean }) => {
      const runtime = await ctx.getRuntime();
      const { getScorecard } = await import("../../replay/scorecard");
      const { report, scorecard, markdown } = await getScorecard(runtime.db, id);
      ctx.io.out(opts.json ? JSON.stringify({ ...report, scorecard }, null, 2) : markdown);
    });

  replay
    .command("sign-off <id>")
    .description("record who reviewed a scorecard, when, and the decision")
    .requiredOption("--by <name>", "who signs off")
    .requiredOption("--decision <decision>", "ship or hold")
    .option("--note <text>", "a short note")
    .action(async (id: string, opts: { by: string; decision: string; note?: string }) => {
      if (opts.decision !== "ship" && opts.decision !== "hold")
        throw new ValidationError("--decision must be ship or hold", [
          { path: "--decision", message: opts.decision.slice(0, 40) },
        ]);
      const runtime = await ctx.getRuntime();
      const { renderMarkdown, signOffScorecard } = await import("../../replay/scorecard");
      const card = await signOffScorecard(runtime.db, id, {
        by: opts.by,
        decision: opts.decision,
        note: opts.note,
      });
      ctx.io.out(renderMarkdown(card));
    });
}
