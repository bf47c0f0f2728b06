import type { Command } from "commander";
import type { CliContext } from "../context";

export function registerOutboxCommands(program: Command, ctx: CliContext): void {
  const outbox = program
    .command("outbox")
    .description("events waiting to reach the workflow engine");
  outbox
    .command("status")
    .description("count events by state")
    .action(async () => {
      const { db } = await ctx.getRuntime();
      const { outboxStats } = await import("../../outbox/outbox");
      const stats = await outboxStats(db);
      ctx.io.out(JSON.stringify(stats));
    });
  outbox
    .command("flush")
    .description("send pending events now (to Inngest, or to the embedded runner's queue)")
    .action(async () => {
      const { db, config } = await ctx.getRuntime();
      const [{ dispatchOutbox }, { outboxSenderFor }] = await Promise.all([
        import("../../outbox/outbox"),
        import("../../runner/sender"),
      ]);
      const result = await dispatchOutbox(db, await outboxSenderFor(config, db), { limit: 1000 });
      ctx.io.out(JSON.stringify(result));
      if (result.failed > 0) ctx.exitCode = 1;
    });
}
