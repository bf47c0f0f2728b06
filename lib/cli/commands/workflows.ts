import type { Command } from "commander";
import { ValidationError } from "../../errors";
import type { CliContext } from "../context";
import { table } from "../output";

export function registerWorkflowCommands(program: Command, ctx: CliContext): void {
  const command = program
    .command("workflows")
    .description("the workflows, who runs them, and running a scheduled one now");
  command
    .command("list", { isDefault: true })
    .description(
      "every workflow with its triggers and next scheduled run; jobs of the embedded runner",
    )
    .action(async () => {
      const runtime = await ctx.getRuntime();
      const [{ Cron }, { chooseRunner }, { jobStats }, { workflows }, { cronOf, triggerEvents }] =
        await Promise.all([
          import("croner"),
          import("../../runner"),
          import("../../runner/jobs"),
          import("../../workflows"),
          import("../../workflows/define"),
        ]);
      const choice = await chooseRunner(runtime.config);
      ctx.io.out(
        table(
          ["workflow", "triggers", "schedule (UTC)", "next run", "retries"],
          workflows.map((wf) => {
            const cron = cronOf(wf);
            return [
              wf.id,
              triggerEvents(wf).join(", "),
              cron ?? "",
              cron
                ? (new Cron(cron, { paused: true, timezone: "UTC" }).nextRun()?.toISOString() ?? "")
                : "",
              wf.retries,
            ];
          }),
        ),
      );
      ctx.io.out(`runner: ${choice.runner} (${choice.reason})`);
      if (choice.runner === "embedded")
        ctx.io.out(`jobs: ${JSON.stringify(await jobStats(runtime.db))}`);
    });
  command
    .command("run <workflow>")
    .description("run a scheduled workflow now (as its cron would), for --at or now")
    .option("--at <time>", "the tick to act for (ISO 8601, e.g. 2026-12-02T12:00:00Z)")
    .action(async (workflowId: string, opts: { at?: string }) => {
      const at = opts.at === undefined ? undefined : new Date(opts.at);
      if (at && (Number.isNaN(at.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(opts.at ?? "")))
        throw new ValidationError(`--at must be an ISO 8601 time, got ${opts.at}`, [
          { path: "--at", message: "ISO 8601" },
        ]);
      const runtime = await ctx.getRuntime();
      const [{ requestWorkflow }, { dispatchOutbox }, { outboxSenderFor }] = await Promise.all([
        import("../../workflows/request"),
        import("../../outbox/outbox"),
        import("../../runner/sender"),
      ]);
      const event = await requestWorkflow(runtime.db, workflowId, { at, requestedBy: ctx.actor() });
      const sent = await dispatchOutbox(
        runtime.db,
        await outboxSenderFor(runtime.config, runtime.db),
        {
          ids: [event.id],
        },
      );
      ctx.io.out(
        JSON.stringify({ event: event.id, dispatched: sent.sent === 1, error: sent.error }),
      );
      if (sent.sent !== 1)
        ctx.io.err("the request waits in the outbox; it is sent when the workflow engine answers");
    });
}
