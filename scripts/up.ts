/**
 * The main job on the embedded defaults (README, first command): index this repository,
 * show a search, then build and start the app. No accounts, no network.
 *
 *   npm run up [-- --no-serve] [-- --source <path|url>] [-- --query "<text>"] [-- --host <address>]
 */
import { Command } from "commander";
import { main as ballast } from "../lib/cli/main";
import { setFrameworkEnvDefaults } from "../lib/config/env";
import { buildIsStale, projectRoot as root, runNext as run } from "./next-app";

async function up(): Promise<number> {
  const options = new Command("up")
    .option("--source <location>", "what to index (default: this repository)", root)
    .option("--query <text>", "the search to show", "how does the outbox resend events to Inngest")
    .option("--no-serve", "index and search, then stop")
    .option(
      "--host <address>",
      "the address the app listens on (0.0.0.0 exposes it to the network; see the README's Security model)",
      "127.0.0.1",
    )
    .parse(process.argv)
    .opts<{ source: string; query: string; serve: boolean; host: string }>();
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
  process.stderr.write(
    "   health: http://localhost:3000/api/health · API keys: npx ballast keys create --name me --role admin\n",
  );
  return run(["start", "--hostname", options.host]);
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
