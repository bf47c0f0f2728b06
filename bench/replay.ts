import { rm } from "node:fs/promises";
import path from "node:path";
import { sql } from "drizzle-orm";
import { rowsOf } from "../db/client";
import { exportBundle } from "../lib/replay/bundle";
import { runReplay } from "../lib/replay/runner";
import { buildScorecard } from "../lib/replay/scorecard";
import { git } from "./git";
import { type BenchRuntime, openBenchRuntime } from "./runtime";
import { addGitSource, commitChanges, measureSync } from "./sync";

/**
 * The replay section of the bench:
 *   - the ledger's overhead on full-sync throughput: full syncs of the corpus into fresh
 *     databases with LEDGER_ENABLED=true and =false, alternated (off/on, then on/off, …) so
 *     machine drift falls on both; the ratio of median documents/minute (target ≥ 0.95);
 *   - a replay of the incremental run (1 % of the files changed): exported as a bundle (with a
 *     git bundle of the corpus), replayed in the sandbox — which first indexes the corpus at the
 *     run's starting commit — and scored. Reported: the replayed event's wall time and events/s,
 *     and the whole replay's wall time (sandbox, bootstrap and scoring included).
 */

export interface ReplayBenchResult {
  rounds: number;
  ledgerOnDocumentsPerMinute: number[];
  ledgerOffDocumentsPerMinute: number[];
  /** median(on) ÷ median(off). */
  throughputRatio: number;
  ledger: { entries: number; bytes: number };
  replay: {
    documentsChanged: number;
    eventWallMs: number;
    eventsPerSecond: number;
    totalWallMs: number;
    bundleBytes: number;
    verdict: string;
    passRate: number;
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

export async function measureReplay(options: {
  corpusRepoDir: string;
  tmp: string;
  root: string;
  rounds: number;
  changeCount: number;
  seed: string;
  status(message: string): void;
}): Promise<ReplayBenchResult> {
  const { tmp, root, status } = options;
  const repoDir = path.join(tmp, "replay-repo");
  await git(tmp, ["clone", "-q", "--local", options.corpusRepoDir, repoDir]);
  const on: number[] = [];
  const off: number[] = [];
  let kept: BenchRuntime | undefined;
  let keptSource = "";
  try {
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? [false, true] : [true, false];
      for (const ledger of order) {
        const last = round === options.rounds - 1 && ledger;
        const dir = path.join(tmp, `replay-${round}-${ledger ? "on" : "off"}`);
        const bench = await openBenchRuntime(dir, root, { LEDGER_ENABLED: String(ledger) });
        const source = await addGitSource(bench, "bench-replay", repoDir);
        status(
          `replay bench: full sync ${round + 1}/${options.rounds}, ledger ${ledger ? "on" : "off"}…`,
        );
        const sync = await measureSync(bench, source.id);
        (ledger ? on : off).push(sync.documentsPerMinute);
        status(`  ${Math.round(sync.documentsPerMinute)} documents/min`);
        if (last) {
          kept = bench;
          keptSource = source.id;
        } else {
          await bench.runtime.close();
          await rm(dir, { recursive: true, force: true });
        }
      }
    }
    if (!kept) throw new Error("no ledger-on runtime kept");
    const bench = kept;
    const { db } = bench.runtime;
    const [ledgerRows] = rowsOf<{ n: number; bytes: string }>(
      await db.execute(
        sql`select count(*)::int as n, coalesce(sum(pg_column_size(data)), 0)::bigint as bytes from ledger_entries`,
      ),
    );

    status(`replay bench: editing ${options.changeCount} files and an incremental sync…`);
    const changes = await commitChanges(
      repoDir,
      options.changeCount,
      options.seed,
      bench.config.chunking,
    );
    const since = new Date(Date.now() - 1000);
    const incremental = await measureSync(bench, keptSource);
    const bundle = await exportBundle(bench.runtime, {
      since,
      until: new Date(Date.now() + 1000),
      runIds: [incremental.runId],
    });
    const bundleBytes = Buffer.byteLength(JSON.stringify(bundle));
    status("replay bench: replaying the incremental run in a sandbox…");
    const started = performance.now();
    const result = await runReplay(bundle, {
      config: bench.config,
      migrationsFolder: path.join(root, "db", "migrations"),
    });
    const totalWallMs = Math.round(performance.now() - started);
    const card = buildScorecard(result, { minPassRate: 0.95, secrets: bench.config.secrets });
    const event = result.events[0];
    return {
      rounds: options.rounds,
      ledgerOnDocumentsPerMinute: on.map(Math.round),
      ledgerOffDocumentsPerMinute: off.map(Math.round),
      throughputRatio: Math.round((median(on) / median(off)) * 1000) / 1000,
      ledger: { entries: Number(ledgerRows?.n ?? 0), bytes: Number(ledgerRows?.bytes ?? 0) },
      replay: {
        documentsChanged: changes.files.length,
        eventWallMs: event?.wallMs ?? 0,
        eventsPerSecond: card.performance.eventsPerSecond,
        totalWallMs,
        bundleBytes,
        verdict: event?.diff.verdict ?? "not replayed",
        passRate: card.passRate,
      },
    };
  } finally {
    await kept?.runtime.close();
  }
}
