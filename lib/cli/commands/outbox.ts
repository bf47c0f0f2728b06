import type { Command } from "commander";
import { eventApiSender } from "../../outbox/event-api";
import { dispatchOutbox, outboxStats } from "../../outbox/outbox";
import type { CliContext } from "../context";

export function registerOutboxCommands(program: Command, ctx: CliContext): void {
  const outbox = program.command("outbox").description("events waiting to reach Inngest");
  outbox
    .command("status")
    .description("count events by state")
    .action(async () => {
      const { db } = await ctx.getRuntime();
      const stats = await outboxStats(db);
      ctx.io.out(JSON.stringify(stats));
    });
  outbox
    .command("flush")
    .description("send pending events to Inngest now")
    .action(async () => {
      const { db } = await ctx.getRuntime();
      const { config } = await ctx.getRuntime();
      const result = await dispatchOutbox(db, eventApiSender(config.inngest), { limit: 1000 });
      ctx.io.out(JSON.stringify(result));
      if (result.failed > 0) ctx.exitCode = 1;
    });
}
