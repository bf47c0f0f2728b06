import type { Command } from "commander";
import { ValidationError } from "../../errors";
import type { CleanupPlan } from "../../retention/cleanup";
import type { CliContext } from "../context";
import { table } from "../output";

export function registerCleanupCommands(program: Command, ctx: CliContext): void {
  const command = program
    .command("cleanup")
    .description(
      "the cleanup workflow: what it would delete, running it, its runs, approving or rejecting one",
    );
  command
    .command("run")
    .description("run the cleanup now (as its 02:00 UTC cron would); --dry-run shows the plan only")
    .option("--dry-run", "print what would be archived and deleted; change nothing")
    .option("--json", "print JSON")
    .action(async (opts: { dryRun?: boolean; json?: boolean }) => {
      const runtime = await ctx.getRuntime();
      if (opts.dryRun) {
        const { planCleanup } = await import("../../retention/cleanup");
        const deps = await ctx.deps();
        const plan = await planCleanup(
          runtime.db,
          { traces: runtime.config.traces, cleanup: runtime.config.cleanup },
          new Date(),
          deps.maxFileBytes,
        );
        ctx.io.out(opts.json ? JSON.stringify(plan, null, 2) : formatPlan(plan));
        return;
      }
      const [{ requestWorkflow }, { dispatchOutbox }, { outboxSenderFor }] = await Promise.all([
        import("../../workflows/request"),
        import("../../outbox/outbox"),
        import("../../runner/sender"),
      ]);
      const event = await requestWorkflow(runtime.db, "cleanup", { requestedBy: ctx.actor() });
      const sent = await dispatchOutbox(
        runtime.db,
        await outboxSenderFor(runtime.config, runtime.db),
        { ids: [event.id] },
      );
      ctx.io.out(JSON.stringify({ event: event.id, dispatched: sent.sent === 1 }));
      if (sent.sent !== 1)
        ctx.io.err("the request waits in the outbox; it is sent when the workflow engine answers");
    });
  command
    .command("list", { isDefault: true })
    .description("recent cleanup runs")
    .option("--limit <n>", "how many", "20")
    .option("--json", "print JSON")
    .action(async (opts: { limit: string; json?: boolean }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200)
        throw new ValidationError("--limit must be 1-200", [
          { path: "--limit", message: opts.limit },
        ]);
      const runtime = await ctx.getRuntime();
      const { cleanupView, listCleanupRuns } = await import("../../retention/cleanup");
      const runs = (await listCleanupRuns(runtime.db, limit)).map(cleanupView);
      if (opts.json) {
        ctx.io.out(JSON.stringify(runs, null, 2));
        return;
      }
      ctx.io.out(
        table(
          ["run", "status", "trigger", "started", "approval", "counts", "error"],
          runs.map((r) => [
            r.id,
            r.status,
            r.trigger,
            r.startedAt,
            r.approvalRequired ? (r.decision?.decision ?? "awaiting") : "",
            Object.entries(r.counts)
              .filter(([, n]) => n > 0)
              .map(([k, n]) => `${k} ${n}`)
              .join(", "),
            r.error ?? "",
          ]),
        ),
      );
    });
  command
    .command("show <runId>")
    .description("one cleanup run: what it would delete (its plan), its decision and counts")
    .action(async (runId: string) => {
      const runtime = await ctx.getRuntime();
      const { cleanupView, getCleanupRun } = await import("../../retention/cleanup");
      const run = cleanupView(await getCleanupRun(runtime.db, runId));
      ctx.io.out(formatPlan(run.plan as unknown as CleanupPlan));
      ctx.io.out(JSON.stringify({ ...run, plan: undefined }, null, 2));
    });
  for (const decision of ["approve", "reject"] as const)
    command
      .command(`${decision} <runId>`)
      .description(
        `${decision} a cleanup that waits for approval (its plan is printed first); --reason is required`,
      )
      .requiredOption("--reason <text>", "why (recorded in the audit log)")
      .option("--dry-run", "print the plan and what would be decided; decide nothing")
      .action(async (runId: string, opts: { reason: string; dryRun?: boolean }) => {
        const runtime = await ctx.getRuntime();
        const { cleanupView, decideAndNotify, getCleanupRun } = await import(
          "../../retention/cleanup"
        );
        const run = cleanupView(await getCleanupRun(runtime.db, runId));
        ctx.io.out(formatPlan(run.plan as unknown as CleanupPlan));
        if (opts.dryRun) {
          ctx.io.out(`would ${decision} run ${run.id} (${run.status}): ${opts.reason}`);
          return;
        }
        const [{ outboxSenderFor }, { recordAudit }] = await Promise.all([
          import("../../runner/sender"),
          import("../../auth/audit"),
        ]);
        const { run: decided, dispatched } = await decideAndNotify(
          runtime.db,
          runId,
          decision,
          { by: ctx.actor(), reason: opts.reason },
          await outboxSenderFor(runtime.config, runtime.db),
        );
        await recordAudit(runtime.db, {
          actor: ctx.actor(),
          action: `cleanup.${decision}`,
          target: runId,
          result: "ok",
          details: { reason: opts.reason.trim(), via: "cli" },
        });
        ctx.io.out(
          `${decision === "approve" ? "approved" : "rejected"} cleanup run ${decided.id}${dispatched ? "" : " (the workflow is told when the engine answers)"}`,
        );
      });
}

/** What a cleanup would delete, as lines an operator reads before deciding. */
export function formatPlan(plan: CleanupPlan): string {
  const lines = [`cleanup plan at ${plan.at}`];
  lines.push(`  orphaned chunks: ${plan.orphanedChunks}`);
  lines.push(`  documents of removed sources: ${plan.removedSourceDocuments}`);
  for (const e of plan.excludedDocuments)
    lines.push(`  excluded by ${e.source}'s filters: ${e.documents} documents, ${e.chunks} chunks`);
  lines.push(`  stuck runs to fail: ${plan.stuckRuns.length}`);
  for (const a of plan.archive) {
    const rows = a.days.reduce((n, d) => n + d.rows, 0);
    lines.push(
      `  ${a.dataset}: ${a.days.length} days before ${a.cutoff} to archive, verify and delete (${rows} rows)`,
    );
  }
  for (const x of plan.archiveExpiry)
    lines.push(`  ${x.dataset} archives before ${x.cutoff}: removed from the archive store`);
  lines.push(`  index rows deleted without an archive: ${plan.unarchivedRows}`);
  lines.push(
    plan.approvalRequired
      ? `  needs an operator's approval: ${plan.approvalRequired}`
      : "  needs no approval",
  );
  return lines.join("\n");
}
