import type { Command } from "commander";
import type { CliContext } from "../context";
import { table } from "../output";

export function registerHealthCommand(program: Command, ctx: CliContext): void {
  program
    .command("health")
    .description("readiness of every backend, as /api/health reports it")
    .action(async () => {
      const runtime = await ctx.getRuntime();
      const { checkHealth } = await import("../../health/check");
      const report = await checkHealth(runtime);
      ctx.io.out(
        table(
          ["part", "status", "required", "backend", "latency", "detail"],
          Object.entries(report.parts).map(([name, p]) => [
            name,
            p.status,
            p.required ? "yes" : "no",
            `${p.backend}${p.embedded ? " (embedded)" : ""}`,
            p.latencyMs === null ? "" : `${p.latencyMs} ms`,
            p.detail,
          ]),
        ),
      );
      ctx.io.out(`overall: ${report.status}`);
      if (report.status === "down") ctx.exitCode = 1;
    });
}
