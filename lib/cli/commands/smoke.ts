import { type Command, InvalidArgumentError } from "commander";
import type { CliContext } from "../context";
import { table } from "../output";

interface SmokeFlags {
  url: string;
  key: string;
  webhookSecret?: string;
  signingKey?: string;
  envFile?: string;
  query?: string;
  timeout: number;
  json?: boolean;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 300)
    throw new InvalidArgumentError("must be a number of seconds from 0 to 300");
  return n;
}

/** Inngest registers one function per workflow and one more per onFailure handler. */
export async function expectedInngestFunctions(): Promise<number> {
  const { workflows } = await import("../../workflows");
  return workflows.length + workflows.filter((w) => w.onFailure).length;
}

export function registerSmokeCommand(program: Command, ctx: CliContext): void {
  program
    .command("smoke")
    .description(
      "check a deployment over HTTP: health, Inngest registration (signed), search, an admin read, a signed webhook ping; exits 1 naming each failing step",
    )
    .requiredOption("--url <url>", "the deployment's origin, e.g. https://ballast.example.com")
    .requiredOption("--key <key>", "an API key (viewer is enough)")
    .option(
      "--webhook-secret <secret>",
      "GITHUB_WEBHOOK_SECRET of the deployment: adds the signed ping (default: from --env-file or the environment)",
    )
    .option(
      "--signing-key <key>",
      "INNGEST_SIGNING_KEY of the deployment: signs the introspection (default: from --env-file or the environment)",
    )
    .option(
      "--env-file <file>",
      "read GITHUB_WEBHOOK_SECRET and INNGEST_SIGNING_KEY from this file (keeps them off the command line)",
    )
    .option("--query <text>", "the search to run", "ballast")
    .option("--timeout <seconds>", "per request", seconds, 10)
    .option("--json", "print the report as JSON")
    .action(async (flags: SmokeFlags) => {
      const [{ processEnv, readEnvFile }, { runSmoke, smokeBaseUrl }] = await Promise.all([
        import("../../config"),
        import("../../ops/smoke"),
      ]);
      const url = smokeBaseUrl(flags.url);
      const env = flags.envFile ? readEnvFile(flags.envFile) : processEnv();
      const pick = (value: string | undefined) =>
        value === undefined || value.trim() === "" ? undefined : value.trim();
      const report = await runSmoke({
        url,
        key: flags.key,
        webhookSecret: pick(flags.webhookSecret) ?? pick(env.GITHUB_WEBHOOK_SECRET),
        inngestSigningKey: pick(flags.signingKey) ?? pick(env.INNGEST_SIGNING_KEY),
        expectedFunctions: await expectedInngestFunctions(),
        query: flags.query,
        timeoutMs: flags.timeout * 1000,
      });
      if (flags.json) ctx.io.out(JSON.stringify(report, null, 2));
      else {
        ctx.io.out(`smoke test of ${report.url}`);
        ctx.io.out(
          table(
            ["step", "result", "time", "detail"],
            report.steps.map((s) => [s.name, s.status, `${s.ms} ms`, s.detail]),
          ),
        );
      }
      if (report.ok) ctx.io.err("smoke: passed");
      else {
        for (const step of report.steps.filter((s) => s.status === "failed"))
          ctx.io.err(`smoke: step ${step.name} failed: ${step.detail}`);
        ctx.io.err(`smoke: FAILED (${report.failed.join(", ")})`);
        ctx.exitCode = 1;
      }
    });
}
