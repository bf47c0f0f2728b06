import { randomUUID } from "node:crypto";
import type { SingleBar } from "cli-progress";
import type { Command } from "commander";
import type { Database } from "../../../db/client";
import { ConflictError } from "../../errors";
import type { PipelineDeps } from "../../pipeline/deps";
import type { SourceRecord } from "../../pipeline/source-records";
import type { SyncProgress } from "../../workflows/sync-now";
import type { CliContext } from "../context";
import { formatDuration, keyValueTable, shortSha } from "../output";

export function registerSyncCommand(program: Command, ctx: CliContext): void {
  program
    .command("sync <target>")
    .description(
      "sync a source now, in this process: a source name, a local git path, a git URL or a GitHub URL",
    )
    .option("--full", "list everything instead of diffing from the last synced commit")
    .action(async (target: string, opts: { full?: boolean }) => {
      const abort = new AbortController();
      let syncing = false;
      const onSigint = () => {
        if (!syncing) {
          // Still checking the location: nothing is saved yet, so stop at once.
          ctx.io.err("\ncancelled before the sync started; nothing was saved");
          process.exit(130);
        }
        if (abort.signal.aborted) process.exit(130);
        ctx.io.err("\ncancelling after the current batch… (Ctrl-C again to quit at once)");
        abort.abort(new Error("cancelled"));
      };
      process.on("SIGINT", onSigint);
      // The database in a worker thread: the index build at the end does not freeze this one.
      const runtime = await ctx.getRuntime({ serveDatabase: true });
      const deps = await ctx.deps();
      const [{ describeRun }, { redactLocation }, { syncSourceLocally }, cliProgress] =
        await Promise.all([
          import("../../pipeline/runs"),
          import("../../security/redact"),
          import("../../workflows/sync-now"),
          ctx.io.interactive ? import("cli-progress") : undefined,
        ]);
      const source = await resolveTarget(runtime.db, deps, target).catch((error: unknown) => {
        process.off("SIGINT", onSigint);
        throw error;
      });
      ctx.io.err(
        `syncing "${source.name}" (${source.kind} ${redactLocation(source.location)}${source.branch ? `@${source.branch}` : ""})${opts.full ? ", full" : ""}`,
      );
      syncing = true;
      const reporter = progressReporter(ctx, cliProgress?.SingleBar);
      try {
        const run = await syncSourceLocally(deps, {
          sourceId: source.id,
          mode: opts.full ? "full" : "incremental",
          trigger: "cli",
          dedupeKey: `cli:${randomUUID()}`,
          onProgress: reporter.update,
          signal: abort.signal,
        });
        reporter.stop();
        const view = await describeRun(runtime.db, run);
        const minutes = (view.timings.durationMs ?? 0) / 60_000;
        const docs =
          view.counts.processed + view.counts.skipped + view.counts.failed + view.counts.deleted;
        const skipped = Object.entries(view.counts.skippedByReason)
          .filter(([, n]) => n > 0)
          .map(([reason, n]) => `${reason} ${n}`)
          .join(", ");
        ctx.io.out(
          keyValueTable([
            ["run", view.id],
            ["status", view.status],
            ["mode", view.mode ?? view.requestedMode],
            [
              "commits",
              view.fromCommit
                ? `${shortSha(view.fromCommit)} → ${shortSha(view.toCommit)}`
                : shortSha(view.toCommit),
            ],
            ["note", view.note],
            ["error", view.error],
            ["documents planned", view.counts.planned],
            ["indexed", view.counts.processed],
            ["skipped", `${view.counts.skipped}${skipped ? ` (${skipped})` : ""}`],
            ["failed", view.counts.failed],
            ["deleted", view.counts.deleted],
            [
              "chunks written / embedded / reused / deleted",
              `${view.counts.chunksWritten} / ${view.counts.chunksEmbedded} / ${view.counts.chunksReused} / ${view.counts.chunksDeleted}`,
            ],
            ["tokens", view.counts.tokens],
            ["cost (USD)", view.counts.costUsd.toFixed(6)],
            ["duration", formatDuration(view.timings.durationMs)],
            ["rate", minutes > 0 ? `${Math.round(docs / minutes)} documents/min` : ""],
          ]),
        );
        if (view.status === "failed" || view.status === "cancelled") ctx.exitCode = 1;
        else if (view.status === "completed_with_errors") ctx.exitCode = 3;
      } finally {
        reporter.stop();
        process.off("SIGINT", onSigint);
      }
    });
}

/** A source name, or a location that is found or added as a source. */
async function resolveTarget(
  db: Database,
  deps: PipelineDeps,
  target: string,
): Promise<SourceRecord> {
  const [
    { readerForLocation },
    { addSource, defaultSourceName, findSource, findSourceByLocation, parseNewSource },
  ] = await Promise.all([import("../../pipeline/deps"), import("../../pipeline/source-records")]);
  const named = await findSource(db, target);
  if (named) return named;
  const location = parseNewSource({ location: target });
  const existing = await findSourceByLocation(db, location);
  if (existing) return existing;
  // A new location is checked before it is saved, so a typo leaves no source behind.
  await readerForLocation(deps, location).resolveHead();
  const base = defaultSourceName(location);
  for (let n = 1; n <= 20; n++) {
    try {
      return await addSource(db, location, { name: n === 1 ? base : `${base}-${n}` });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }
  throw new ConflictError(
    `could not find a free name for ${target}; add it with \`ballast sources add --name\``,
  );
}

/**
 * A live bar on a terminal (documents, chunks, rate, ETA); a line per 10% otherwise. `Bar` is
 * cli-progress's SingleBar, loaded only for an interactive terminal.
 */
function progressReporter(ctx: CliContext, Bar: typeof SingleBar | undefined) {
  let bar: SingleBar | undefined;
  let lastDecile = -1;
  const started = Date.now();
  return {
    update(p: SyncProgress) {
      if (p.phase === "planning") {
        if (!p.runId) ctx.io.err("planning…");
        return;
      }
      if (p.phase === "waiting") {
        ctx.io.err(
          `the source is busy with run ${p.blockingRunId?.slice(0, 8) ?? "?"}; waiting for it to end (Ctrl-C to stop)`,
        );
        return;
      }
      const rate = p.documentsDone / Math.max(0.001, (Date.now() - started) / 1000);
      const payload = { chunks: p.chunksEmbedded, rate: rate.toFixed(0), failed: p.failed };
      if (ctx.io.interactive && Bar) {
        if (!bar) {
          bar = new Bar({
            format:
              "{bar} {percentage}% | {value}/{total} documents | {chunks} chunks embedded | {rate} docs/s | {failed} failed | ETA {eta_formatted}",
            stream: process.stderr,
            hideCursor: true,
            etaBuffer: 20,
            fps: 5,
          });
          bar.start(Math.max(1, p.planned), 0, payload);
        }
        bar.update(p.documentsDone, payload);
        if (p.phase === "finishing")
          ctx.io.err("\nfinishing (building the vector index if needed)…");
        return;
      }
      const decile = p.planned === 0 ? 10 : Math.floor((p.documentsDone / p.planned) * 10);
      if (decile !== lastDecile || p.phase === "finishing") {
        lastDecile = decile;
        ctx.io.err(
          `${p.phase}: ${p.documentsDone}/${p.planned} documents, ${p.chunksEmbedded} chunks embedded, ${payload.rate} docs/s, ${p.failed} failed`,
        );
      }
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
