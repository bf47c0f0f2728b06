import { Command, CommanderError } from "commander";
import { BallastError } from "../errors";
import { registerAlertCommands } from "./commands/alerts";
import { registerCleanupCommands } from "./commands/cleanup";
import { registerDbCommands } from "./commands/db";
import { registerEvalCommand } from "./commands/eval";
import { registerHealthCommand } from "./commands/health";
import { registerKeyCommands } from "./commands/keys";
import { registerOutboxCommands } from "./commands/outbox";
import { registerRecoveryCommands } from "./commands/recovery";
import { registerReplayCommands } from "./commands/replay";
import { registerRunCommands } from "./commands/runs";
import { registerSearchCommand } from "./commands/search";
import { registerSmokeCommand } from "./commands/smoke";
import { registerSourceCommands } from "./commands/sources";
import { registerSyncCommand } from "./commands/sync";
import { registerTraceCommands } from "./commands/traces";
import { registerValidateEnvCommand } from "./commands/validate-env";
import { registerWorkflowCommands } from "./commands/workflows";
import { CliContext } from "./context";
import { consoleOutput, type Output } from "./output";

/** Builds the `ballast` program. Commands call lib/ directly: no server, no Inngest needed. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command("ballast")
    .description("Ballast keeps a searchable knowledge index in sync with code repositories.")
    .option("-v, --verbose", "log what happens (info level, to stderr)")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.out(s.trimEnd()),
      writeErr: (s) => ctx.io.err(s.trimEnd()),
    });
  program.hook("preAction", (command) => {
    ctx.verbose = command.opts<{ verbose?: boolean }>().verbose === true;
  });
  registerValidateEnvCommand(program, ctx);
  registerDbCommands(program, ctx);
  registerKeyCommands(program, ctx);
  registerSourceCommands(program, ctx);
  registerSyncCommand(program, ctx);
  registerSearchCommand(program, ctx);
  registerEvalCommand(program, ctx);
  registerRunCommands(program, ctx);
  registerOutboxCommands(program, ctx);
  registerHealthCommand(program, ctx);
  registerWorkflowCommands(program, ctx);
  registerSmokeCommand(program, ctx);
  registerTraceCommands(program, ctx);
  registerCleanupCommands(program, ctx);
  registerRecoveryCommands(program, ctx);
  registerReplayCommands(program, ctx);
  registerAlertCommands(program, ctx);
  return program;
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 usage). */
export async function main(
  argv: string[],
  io: Output = consoleOutput,
  options: { root?: string } = {},
): Promise<number> {
  const ctx = new CliContext(io, options.root);
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (error) {
    return await reportError(error, io);
  } finally {
    await ctx.close();
  }
}

async function reportError(error: unknown, io: Output): Promise<number> {
  if (error instanceof CommanderError) {
    return error.exitCode === 0 ||
      error.code === "commander.helpDisplayed" ||
      error.code === "commander.version"
      ? 0
      : 2;
  }
  if (error instanceof BallastError) {
    io.err(`error: ${error.message}`);
    for (const issue of error.issues ?? []) io.err(`  - ${issue.path}: ${issue.message}`);
    return 1;
  }
  // The configuration module is loaded only by the commands that read it (see CliContext), so
  // it is imported here only for errors that can be its own (it is cached once loaded).
  const { ConfigError } = await import("../config");
  if (error instanceof ConfigError) {
    io.err(error.message);
    return 1;
  }
  io.err(`error: ${error instanceof Error ? error.message : String(error)}`);
  return 1;
}
