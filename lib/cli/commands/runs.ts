import type { Command } from "commander";
import { RUN_STATUSES, type RunStatus } from "../../../db/schema";
import { ValidationError } from "../../errors";
import { describeRun, getRun, listRuns } from "../../pipeline/runs";
import { getSource } from "../../pipeline/source-records";
import type { CliContext } from "../context";
import { formatDuration, table } from "../output";
import { parsePositiveInt } from "./sources";

export function registerRunCommands(program: Command, ctx: CliContext): void {
  program
    .command("runs [id]")
    .description("recent sync runs, or one run in detail")
    .option("--source <name>", "only this source")
    .option("--status <status>", `only this status (${RUN_STATUSES.join(", ")})`)
    .option("--limit <n>", "how many", "20")
    .option("--json", "print JSON")
    .action(
      async (
        id: string | undefined,
        opts: { source?: string; status?: string; limit: string; json?: boolean },
      ) => {
        const { db } = await ctx.getRuntime();
        if (id) {
          const view = await describeRun(db, await getRun(db, id));
          ctx.io.out(JSON.stringify(view, null, 2));
          return;
        }
        if (opts.status && !(RUN_STATUSES as readonly string[]).includes(opts.status))
          throw new ValidationError(`--status must be one of ${RUN_STATUSES.join(", ")}`, [
            { path: "--status", message: opts.status },
          ]);
        const source = opts.source ? await getSource(db, opts.source) : undefined;
        const rows = await listRuns(db, {
          sourceId: source?.id,
          status: opts.status as RunStatus | undefined,
          limit: parsePositiveInt("--limit", opts.limit) ?? 20,
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
