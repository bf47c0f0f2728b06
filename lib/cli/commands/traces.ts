import type { Command } from "commander";
import { ValidationError } from "../../errors";
import type { TraceView } from "../../traces/query";
import { DATASET_PREFIXES } from "../choices";
import type { CliContext } from "../context";
import { formatDuration, table } from "../output";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface ListOptions {
  source?: string;
  function?: string;
  status?: string;
  correlation?: string;
  kind?: string;
  from?: string;
  to?: string;
  limit: string;
  cursor?: string;
  json?: boolean;
}

export function registerTraceCommands(program: Command, ctx: CliContext): Command {
  const command = program
    .command("traces")
    .description(
      "trace envelopes: list and filter them, a run's timeline, restore an archived day",
    );
  command
    .command("list [run]", { isDefault: true })
    .description(
      "recent trace envelopes (filtered), or with a run id: that run's steps as a timeline",
    )
    .option("--source <name>", "only this source (name or id)")
    .option("--function <id>", "only this workflow (e.g. sync-source)")
    .option("--status <status>", "ok or error")
    .option("--correlation <id>", "only this correlation id")
    .option("--kind <kind>", "step or external")
    .option("--from <time>", "started at or after (ISO 8601)")
    .option("--to <time>", "started before (ISO 8601)")
    .option("--limit <n>", "how many (1-500)", "50")
    .option("--cursor <cursor>", "the next page (printed after a full page)")
    .option("--json", "print JSON")
    .action(async (run: string | undefined, opts: ListOptions) => {
      const from = run ? undefined : normaliseTime("--from", opts.from);
      const to = run ? undefined : normaliseTime("--to", opts.to);
      const runtime = await ctx.getRuntime();
      const { db } = runtime;
      const { queryTraces, runTimeline } = await import("../../traces/query");
      if (run) {
        const { getRun } = await import("../../pipeline/runs");
        const runId = UUID.test(run) ? run.toLowerCase() : (await getRun(db, run)).id;
        const spans = await runTimeline(db, runId);
        if (opts.json) {
          ctx.io.out(JSON.stringify(spans, null, 2));
          return;
        }
        if (spans.length === 0) {
          ctx.io.err(`no trace envelopes for run ${runId} (archived, or not traced)`);
          ctx.exitCode = 1;
          return;
        }
        ctx.io.out(timeline(spans));
        return;
      }
      const page = await queryTraces(db, {
        source: opts.source,
        function: opts.function,
        status: opts.status,
        correlation: opts.correlation,
        kind: opts.kind,
        from,
        to,
        limit: opts.limit,
        cursor: opts.cursor,
      });
      if (opts.json) {
        ctx.io.out(JSON.stringify(page, null, 2));
        return;
      }
      ctx.io.out(
        table(
          [
            "started",
            "function",
            "step / call",
            "kind",
            "attempt",
            "status",
            "duration",
            "run",
            "error",
          ],
          page.traces.map((t) => [
            t.startedAt,
            t.function ?? "",
            t.name,
            t.kind,
            t.attempt,
            t.status,
            formatDuration(t.durationMs),
            t.runId?.slice(0, 8) ?? "",
            t.errorMessage ? `${t.errorClass ?? ""}: ${t.errorMessage}`.slice(0, 80) : "",
          ]),
        ),
      );
      if (page.nextCursor) ctx.io.out(`more: --cursor ${page.nextCursor}`);
    });
  command
    .command("restore")
    .description(
      "bring an archived day back into the database (verified first): trace envelopes, or another archived dataset with --dataset",
    )
    .requiredOption("--day <YYYY-MM-DD>", "the UTC day")
    .option(
      "--dataset <name>",
      `what to restore: ${DATASET_PREFIXES.join(", ")} (dlq: dead-letter entries with their attempts)`,
      "traces",
    )
    .option("--dry-run", "verify the day's archives and count their rows; insert nothing")
    .action(async (opts: { day: string; dataset: string; dryRun?: boolean }) => {
      const { DATASETS, TRACE_DATASET } = await import("../../retention/datasets");
      const dataset = DATASETS.find((d) => d.prefix === opts.dataset);
      if (!dataset)
        throw new ValidationError(
          `--dataset must be one of ${DATASETS.map((d) => d.prefix).join(", ")}`,
          [{ path: "dataset", message: "unknown dataset" }],
        );
      const { dayBounds, restoreDay } = await import("../../retention/archive");
      dayBounds(opts.day);
      const runtime = await ctx.getRuntime();
      const result = await restoreDay(runtime.db, runtime.archive, dataset, opts.day, {
        dryRun: opts.dryRun,
      });
      const what = dataset === TRACE_DATASET ? "" : ` ${dataset.prefix}`;
      if (result.parts === 0) {
        ctx.io.err(`no${what} archive of ${opts.day} in ${runtime.archive.location}`);
        ctx.exitCode = 1;
        return;
      }
      ctx.io.out(
        opts.dryRun
          ? `${opts.day}${what}: ${result.parts} archive parts verified, ${result.rows} rows would be restored`
          : `${opts.day}${what}: ${result.parts} archive parts verified, ${result.inserted} of ${result.rows} rows restored (the others were present)`,
      );
    });
  return command;
}

function normaliseTime(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime()))
    throw new ValidationError(`${flag} must be an ISO 8601 time, e.g. 2026-12-02T10:00:00Z`, [
      { path: flag, message: "ISO 8601" },
    ]);
  return date.toISOString();
}

/** A run's spans as a timeline: offset from the first, a bar to scale, status, name, error. */
export function timeline(spans: TraceView[], width = 30): string {
  const start = Math.min(...spans.map((s) => Date.parse(s.startedAt)));
  const end = Math.max(...spans.map((s) => Date.parse(s.endedAt)));
  const total = Math.max(1, end - start);
  const lines = [
    `trace ${spans[0]?.traceId ?? ""} · ${spans.length} spans · ${formatDuration(end - start)}`,
  ];
  for (const s of spans) {
    const from = Date.parse(s.startedAt) - start;
    const at = Math.min(width - 1, Math.floor((from / total) * width));
    const len = Math.max(1, Math.round((s.durationMs / total) * width));
    const bar = `${" ".repeat(at)}${"█".repeat(Math.min(len, width - at))}`.padEnd(width);
    const label = s.kind === "external" ? `  ↳ ${s.name}` : `${s.function ?? ""}/${s.name}`;
    const attempt = s.attempt > 1 ? ` (attempt ${s.attempt})` : "";
    const error = s.status === "error" ? `  ✗ ${s.errorClass ?? ""}: ${s.errorMessage ?? ""}` : "";
    lines.push(
      `+${formatDuration(from).padStart(9)} |${bar}| ${formatDuration(s.durationMs).padStart(9)}  ${s.status === "ok" ? "ok " : "ERR"} ${label}${attempt}${error}`,
    );
  }
  return lines.join("\n");
}
