/**
 * The main job on the embedded defaults (README, first command): index this repository,
 * show a search, then build and start the app. No accounts, no network.
 *
 *   npm run up [-- --no-serve] [-- --source <path|url>] [-- --query "<text>"] [-- --host <address>] [-- --port <n>]
 */
import { Command } from "commander";
import { main as ballast } from "../lib/cli/main";
import { setFrameworkEnvDefaults } from "../lib/config/env";
import {
  buildIsStale,
  projectRoot as root,
  runNext as run,
  startNext,
  waitForHealth,
} from "./next-app";

async function up(): Promise<number> {
  const options = new Command("up")
    .option("--source <location>", "what to index (default: this repository)", root)
    .option("--query <text>", "the search to show", "how does the outbox resend events to Inngest")
    .option("--no-serve", "index and search, then stop")
    .option("--port <n>", "the app's port", "3000")
    .option(
      "--host <address>",
      "the address the app listens on (0.0.0.0 exposes it to the network; see the README's Security model)",
      "127.0.0.1",
    )
    .parse(process.argv)
    .opts<{ source: string; query: string; serve: boolean; port: string; host: string }>();
  if (!/^\d{1,5}$/.test(options.port) || Number(options.port) > 65535) {
    console.error(`--port must be a port number, got ${options.port}`);
    return 2;
  }
  setFrameworkEnvDefaults();
  const cli = (...args: string[]) => ballast(["node", "ballast", ...args], undefined, { root });

  process.stderr.write(`\n== 1/3 indexing ${options.source} on the embedded defaults\n`);
  const synced = await cli("sync", options.source);
  if (synced !== 0 && synced !== 3) return synced;

  process.stderr.write(`\n== 2/3 search: "${options.query}"\n`);
  const searched = await cli("search", options.query, "-k", "5");
  if (searched !== 0) return searched;
  if (!options.serve) return 0;

  process.stderr.write("\n== 3/3 starting the app (Ctrl-C to stop)\n");
  if (buildIsStale()) {
    const built = await run(["build"]);
    if (built !== 0) return built;
  }
  // Health is asked on loopback whatever the app listens on.
  const probeHost = ["0.0.0.0", "::", "[::]"].includes(options.host) ? "127.0.0.1" : options.host;
  const base = `http://${probeHost.includes(":") ? `[${probeHost}]` : probeHost}:${options.port}`;
  const server = startNext(["start", "--port", options.port, "--hostname", options.host]);
  const exited = new Promise<number>((resolve) =>
    server.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1))),
  );
  const gate = await waitForHealth(base, server);
  if (!gate.ok) {
    process.stderr.write(
      `\nnot ready: /api/health ${gate.status ? `answered ${gate.status}` : "did not answer"}\n${gate.problems.map((p) => `  - ${p}\n`).join("")}`,
    );
    server.kill("SIGTERM");
    await exited;
    return 1;
  }
  const workflows = gate.body?.parts?.workflows;
  process.stderr.write(
    [
      "",
      `ready: ${base} (health 200${gate.problems.length > 0 ? `; degraded: ${gate.problems.join("; ")}` : ""})`,
      `   workflows: ${workflows?.backend === "embedded-runner" ? "the app's embedded runner (no Inngest needed)" : "Inngest"}`,
      "   the CLI works alongside the app (it connects to the app's database):",
      '     npx ballast search "…"   ·   npx ballast runs   ·   npx ballast keys create --name me --role admin',
      `   the console: ${base}/ (sign in with a key from \`npx ballast keys create\`)`,
      "",
    ].join("\n"),
  );
  return exited;
}

up().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
