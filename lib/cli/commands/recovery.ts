import type { Command } from "commander";
import type { DeadLetterStatus } from "../../../db/schema";
import { ValidationError } from "../../errors";
import { DEAD_LETTER_STATUSES } from "../choices";
import type { CliContext } from "../context";
import { table } from "../output";

/** `ballast breakers [list|reset <name>]` and `ballast dlq list|retry|discard|recover`. */
export function registerRecoveryCommands(program: Command, ctx: CliContext): void {
  const breakers = program
    .command("breakers")
    .description("circuit breakers of the external dependencies: list, or reset one");
  breakers
    .command("list", { isDefault: true })
    .description("each breaker's state, counters and retry time")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const runtime = await ctx.getRuntime();
      const { breakerStates } = await import("../../recovery/operator");
      const states = await breakerStates(runtime.breakers);
      if (opts.json) ctx.io.out(JSON.stringify(states, null, 2));
      else
        ctx.io.out(
          table(
            ["breaker", "state", "consecutive failures", "window", "retry at", "reason"],
            states.map((b) => [
              b.name,
              b.state,
              b.consecutiveFailures,
              `${b.windowFailures}/${b.windowCalls}`,
              b.retryAt,
              b.reason,
            ]),
          ),
        );
    });
  breakers
    .command("reset <name>")
    .description("close a breaker (e.g. embedding:openai) once the dependency is back")
    .action(async (name: string) => {
      const runtime = await ctx.getRuntime();
      const { resetBreaker } = await import("../../recovery/operator");
      const state = await resetBreaker(runtime.breakers, name);
      ctx.io.out(`${state.name}: ${state.state}`);
    });

  const dlq = program
    .command("dlq")
    .description("the dead-letter queue: documents and events that exhausted their retries");
  dlq
    .command("list", { isDefault: true })
    .description("open entries (or --status), newest first")
    .option("--status <status>", `open | ${DEAD_LETTER_STATUSES.join(" | ")}`, "open")
    .option("--limit <n>", "at most this many (1-1000)", "100")
    .option("--json", "print JSON")
    .action(async (opts: { status: string; limit: string; json?: boolean }) => {
      const statuses = ["open", ...DEAD_LETTER_STATUSES];
      if (!statuses.includes(opts.status))
        throw new ValidationError(`--status must be one of ${statuses.join(", ")}`, [
          { path: "--status", message: statuses.join(" | ") },
        ]);
      if (!/^\d{1,4}$/.test(opts.limit) || Number(opts.limit) < 1 || Number(opts.limit) > 1000)
        throw new ValidationError("--limit must be a whole number from 1 to 1000", [
          { path: "--limit", message: "1-1000" },
        ]);
      const runtime = await ctx.getRuntime();
      const { dlqDepth, listDeadLetters } = await import("../../recovery/dlq");
      const entries = await listDeadLetters(runtime.db, {
        status: opts.status as DeadLetterStatus | "open",
        limit: Number(opts.limit),
      });
      const depth = await dlqDepth(runtime.db);
      if (opts.json) {
        ctx.io.out(JSON.stringify({ depth, entries }, null, 2));
        return;
      }
      ctx.io.out(
        table(
          [
            "id",
            "kind",
            "what",
            "status",
            "class",
            "dependency",
            "attempts",
            "recoveries",
            "next attempt",
          ],
          entries.map((e) => [
            e.id,
            e.kind,
            e.kind === "document" ? e.path : e.eventName,
            e.status,
            e.errorClass,
            e.dependency,
            e.attempts,
            e.recoveries,
            e.nextAttemptAt.toISOString(),
          ]),
        ),
      );
      ctx.io.out(`pending ${depth.pending}, parked ${depth.parked}, re-driven ${depth.redriven}`);
    });
  dlq
    .command("retry [id]")
    .description("re-drive one entry now (or --all pending and parked), in this process")
    .option("--all", "every pending and parked entry")
    .action(async (id: string | undefined, opts: { all?: boolean }) => {
      if (!id && !opts.all)
        throw new ValidationError("give an entry id, or --all", [
          { path: "id", message: "required without --all" },
        ]);
      if (id && opts.all)
        throw new ValidationError("give an entry id or --all, not both", [
          { path: "id", message: "not with --all" },
        ]);
      const runtime = await ctx.getRuntime();
      const deps = await ctx.deps();
      const [{ dlqDepth, retryAllDeadLetters, retryDeadLetter }, { dispatchLocally }] =
        await Promise.all([import("../../recovery/dlq"), import("../../workflows/recover-now")]);
      const correlationId = `cli:dlq:${Date.now()}`;
      const released = id
        ? await retryDeadLetter(runtime.db, id, ctx.actor(), correlationId).then((r) => ({
            count: 1,
            events: r.events,
          }))
        : await retryAllDeadLetters(runtime.db, ctx.actor(), correlationId);
      await dispatchLocally(deps, released.events);
      const depth = await dlqDepth(runtime.db);
      ctx.io.out(
        `re-drove ${released.count} entr${released.count === 1 ? "y" : "ies"}; open now: pending ${depth.pending}, parked ${depth.parked}`,
      );
      if (depth.pending + depth.parked > 0) ctx.exitCode = 3;
    });
  dlq
    .command("discard <id>")
    .description("give up on an entry; --reason is required and recorded")
    .requiredOption("--reason <text>", "why (3-500 characters)")
    .action(async (id: string, opts: { reason: string }) => {
      const runtime = await ctx.getRuntime();
      const { discardDeadLetter } = await import("../../recovery/dlq");
      const entry = await discardDeadLetter(runtime.db, id, ctx.actor(), opts.reason);
      ctx.io.out(`${entry.id}: discarded`);
    });
  dlq
    .command("recover")
    .description("run the error-recovery workflow now, in this process")
    .action(async () => {
      const deps = await ctx.deps();
      const { recoverLocally } = await import("../../workflows/recover-now");
      const result = await recoverLocally(deps, { requestedBy: ctx.actor() });
      ctx.io.out(JSON.stringify(result));
    });
}
