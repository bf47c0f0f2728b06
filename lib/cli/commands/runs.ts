import type { Command } from "commander";
import type { RunStatus } from "../../../db/schema";
import { ValidationError } from "../../errors";
import type { RunProgress } from "../../pipeline/progress";
import { parsePositiveInt } from "../args";
import { RUN_STATUSES } from "../choices";
import type { CliContext } from "../context";
import { formatDuration, table } from "../output";

export function registerRunCommands(program: Command, ctx: CliContext): void {
  program
    .command("runs [id]")
    .description("recent sync runs, or one run in detail")
    .option("--source <name>", "only this source")
    .option("--status <status>", `only this status (${RUN_STATUSES.join(", ")})`)
    .option("--limit <n>", "how many", "20")
    .option("--json", "print JSON")
    .option("-f, --follow", "with a run id: print its progress live until it ends")
    .action(
      async (
        id: string | undefined,
        opts: { source?: string; status?: string; limit: string; json?: boolean; follow?: boolean },
      ) => {
        if (opts.follow && !id)
          throw new ValidationError("--follow needs a run id", [
            { path: "id", message: "required" },
          ]);
        const listing = !opts.follow && !id;
        if (listing && opts.status && !(RUN_STATUSES as readonly string[]).includes(opts.status))
          throw new ValidationError(`--status must be one of ${RUN_STATUSES.join(", ")}`, [
            { path: "--status", message: opts.status },
          ]);
        const limit = listing ? (parsePositiveInt("--limit", opts.limit) ?? 20) : 20;
        const runtime = await ctx.getRuntime();
        const { db } = runtime;
        const { describeRun, getRun, listRuns } = await import("../../pipeline/runs");
        if (opts.follow && id) {
          const { followRun } = await import("../../pipeline/progress");
          const run = await getRun(db, id);
          const stop = new AbortController();
          const onSigint = () => stop.abort();
          process.once("SIGINT", onSigint);
          try {
            const last = await followRun(
              runtime.database,
              run.id,
              (p) => {
                if (opts.json) ctx.io.out(JSON.stringify(p));
                else ctx.io.err(formatProgress(p));
              },
              { signal: stop.signal },
            );
            if (!last.finished) return; // stopped following; the run goes on
            ctx.exitCode =
              last.status === "succeeded" ? 0 : last.status === "completed_with_errors" ? 3 : 1;
          } finally {
            process.off("SIGINT", onSigint);
          }
          return;
        }
        if (id) {
          const view = await describeRun(db, await getRun(db, id));
          ctx.io.out(JSON.stringify(view, null, 2));
          return;
        }
        const { getSource } = await import("../../pipeline/source-records");
        const source = opts.source ? await getSource(db, opts.source) : undefined;
        const rows = await listRuns(db, {
          sourceId: source?.id,
          status: opts.status as RunStatus | undefined,
          limit,
        });
        const views = await Promise.all(
          rows.map(async (r) => ({ source: r.sourceName, view: await describeRun(db, r.run) })),
        );
        if (opts.json) {
          ctx.io.out(JSON.stringify(views, null, 2));
          return;
        }
        ctx.io.out(
          table(
            [
              "run",
              "source",
              "status",
              "trigger",
              "mode",
              "planned",
              "indexed",
              "skipped",
              "failed",
              "deleted",
              "chunks embedded",
              "duration",
              "queued at",
            ],
            views.map(({ source: name, view: v }) => [
              v.id.slice(0, 8),
              name,
              v.status,
              v.trigger,
              v.mode ?? v.requestedMode,
              v.counts.planned,
              v.counts.processed,
              v.counts.skipped,
              v.counts.failed,
              v.counts.deleted,
              v.counts.chunksEmbedded,
              formatDuration(v.timings.durationMs),
              v.timings.queuedAt,
            ]),
          ),
        );
      },
    );
}

/** One line of live progress: phase, documents, chunks, rate, ETA. */
export function formatProgress(p: RunProgress): string {
  const parts = [
    `${p.runId.slice(0, 8)} ${p.phase}`,
    `${p.planned - p.pending}/${p.planned} documents`,
    `${p.failed} failed`,
    `${p.chunksEmbedded} chunks embedded`,
  ];
  if (p.ratePerMinute !== null) parts.push(`${p.ratePerMinute} documents/min`);
  if (p.etaSeconds !== null) parts.push(`ETA ${formatDuration(p.etaSeconds * 1000)}`);
  if (p.error) parts.push(`error: ${p.error}`);
  return parts.join(" · ");
}
