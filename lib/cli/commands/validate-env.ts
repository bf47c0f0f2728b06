import type { Command } from "commander";
import type { Config, Mode } from "../../config";
import { errorMessage, ValidationError } from "../../errors";
import { MODES } from "../choices";
import type { CliContext } from "../context";
import { table } from "../output";

interface Check {
  part: string;
  required: boolean;
  /** Set when the part is switched off by the configuration: shown as "off" with this reason. */
  off?: string;
  /** How long it may take; default TIMEOUT_MS. */
  timeoutMs?: number;
  run: () => Promise<string>;
}

const TIMEOUT_MS = 5000;
/** Opening the embedded database may run initdb in a fresh directory: not a network round trip. */
const EMBEDDED_OPEN_TIMEOUT_MS = 60_000;

export function registerValidateEnvCommand(program: Command, ctx: CliContext): void {
  program
    .command("validate-env")
    .description("check a configuration; exits non-zero naming every missing or malformed variable")
    .option("--mode <mode>", `validate as this mode (${MODES.join(", ")})`)
    .option("--env-file <file>", "read variables from this file instead of the environment")
    .option("--check-connections", "also reach every backend and report its latency")
    .action(async (opts: { mode?: string; envFile?: string; checkConnections?: boolean }) => {
      if (opts.mode !== undefined && !(MODES as readonly string[]).includes(opts.mode))
        throw new ValidationError(`--mode must be one of ${MODES.join(", ")}`, [
          { path: "--mode", message: opts.mode },
        ]);
      const { parseConfig, processEnv, readEnvFile, summaryLines } = await import("../../config");
      const env = opts.envFile ? readEnvFile(opts.envFile) : processEnv();
      const result = parseConfig(env, { mode: opts.mode as Mode | undefined });
      if (!result.ok) {
        ctx.io.err(
          `✗ configuration invalid${result.mode ? ` for ${result.mode}` : ""}: ${result.problems.length} problem${result.problems.length === 1 ? "" : "s"}`,
        );
        for (const problem of result.problems)
          ctx.io.err(`  - ${problem.variable}: ${problem.message}`);
        ctx.exitCode = 1;
        return;
      }
      ctx.io.out(`✓ configuration valid for ${result.config.mode}`);
      for (const line of summaryLines(result.config)) ctx.io.out(`  ${line}`);
      if (opts.checkConnections) ctx.exitCode = await checkConnections(result.config, ctx);
    });
}

async function withTimeout<T>(work: Promise<T>, timeoutMs = TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function httpProbe(
  url: string,
  init: RequestInit,
  accept: (status: number) => boolean,
): Promise<string> {
  const started = performance.now();
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  await response.arrayBuffer();
  const ms = Math.round(performance.now() - started);
  if (!accept(response.status))
    throw new Error(`HTTP ${response.status} from ${new URL(url).host}`);
  return `${ms} ms (HTTP ${response.status})`;
}

/** Reaches every configured backend; returns the exit code. */
async function checkConnections(config: Config, ctx: CliContext): Promise<number> {
  const strict = config.mode === "production" || config.mode === "staging";
  const inngestOff = !strict && !config.inngest.dev && !config.inngest.signingKey;
  // Loaded before the checks start, so no check's time limit pays for an import.
  const [{ openDatabase }, { createArchiveStore }, { createScrubber }, { eventApiTarget }, redis] =
    await Promise.all([
      import("../../../db/client"),
      import("../../archive"),
      import("../../log/scrub"),
      import("../../outbox/event-api"),
      import("../../redis"),
    ]);
  const { createRedisStore } = redis;
  const checks: Check[] = [
    {
      part: `database (${config.database.driver})`,
      timeoutMs: config.database.driver === "pglite" ? EMBEDDED_OPEN_TIMEOUT_MS : TIMEOUT_MS,
      required: true,
      run: async () => {
        const db = await openDatabase(config.database, { migrate: false });
        try {
          return `${(await db.ping()).latencyMs} ms`;
        } finally {
          await db.close();
        }
      },
    },
    {
      part: `redis (${config.redis.backend === "upstash" ? "upstash" : "in-process"})`,
      required: config.redis.required,
      run: async () => {
        const store =
          config.redis.url && config.redis.token
            ? createRedisStore({
                backend: "upstash",
                url: config.redis.url,
                token: config.redis.token,
                env: config.mode,
              })
            : createRedisStore({ backend: "memory", env: config.mode });
        try {
          return `${(await store.ping()).latencyMs} ms`;
        } finally {
          await store.close();
        }
      },
    },
    {
      part: `archive (${config.archive.backend})`,
      required: strict,
      run: async () => {
        const store = config.archive.s3
          ? createArchiveStore({ backend: "s3", ...config.archive.s3 })
          : createArchiveStore({ backend: "folder", dir: config.archive.dir });
        return `${(await store.ping()).latencyMs} ms`;
      },
    },
    {
      part: `inngest (${config.inngest.dev ? "dev server" : inngestOff ? "off" : "cloud"})`,
      required: strict,
      off: inngestOff
        ? "no INNGEST_SIGNING_KEY or INNGEST_DEV: events wait in the outbox, the CLI runs the pipeline"
        : undefined,
      run: () => {
        const { base, key } = eventApiTarget(config.inngest);
        // An empty batch to the event API checks reachability and the event key, and sends nothing.
        return httpProbe(
          `${base}/e/${key ?? "dev"}`,
          { method: "POST", body: "[]", headers: { "content-type": "application/json" } },
          (s) => s < 300,
        );
      },
    },
  ];
  if (config.embedding.provider === "openai")
    checks.push({
      part: "embedding (openai)",
      required: true,
      // EMBEDDING_MODE log-only or off: nothing may be sent to the provider, not even a probe.
      off:
        config.embedding.mode === "live"
          ? undefined
          : `EMBEDDING_MODE=${config.embedding.mode}: no request is sent`,
      run: () =>
        httpProbe(
          `${config.embedding.openai.baseUrl}/models`,
          { headers: { authorization: `Bearer ${config.embedding.openai.apiKey}` } },
          (s) => s < 300,
        ),
    });
  if (config.embedding.provider === "cohere")
    checks.push({
      part: "embedding (cohere)",
      required: true,
      // EMBEDDING_MODE log-only or off: nothing may be sent to the provider, not even a probe.
      off:
        config.embedding.mode === "live"
          ? undefined
          : `EMBEDDING_MODE=${config.embedding.mode}: no request is sent`,
      run: () =>
        httpProbe(
          `${config.embedding.cohere.baseUrl}/v1/models`,
          { headers: { authorization: `Bearer ${config.embedding.cohere.apiKey}` } },
          (s) => s < 300,
        ),
    });
  if (config.github.token)
    checks.push({
      part: "github",
      required: false,
      run: () =>
        httpProbe(
          `${config.github.apiUrl}/rate_limit`,
          { headers: { authorization: `Bearer ${config.github.token}`, "user-agent": "ballast" } },
          (s) => s < 300,
        ),
    });

  const rows: string[][] = [];
  let failed = false;
  for (const check of checks) {
    if (check.off) {
      rows.push([check.part, "off", check.off]);
      continue;
    }
    try {
      rows.push([check.part, "ok", await withTimeout(check.run(), check.timeoutMs)]);
    } catch (error) {
      if (check.required) failed = true;
      rows.push([
        check.part,
        check.required ? "FAILED" : "failed (optional)",
        errorMessage(error).slice(0, 200),
      ]);
    }
  }
  const scrub = createScrubber(config.secrets);
  ctx.io.out(scrub(table(["backend", "status", "latency / error"], rows)));
  return failed ? 1 : 0;
}
