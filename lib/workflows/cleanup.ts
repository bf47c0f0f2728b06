import { eq } from "drizzle-orm";
import { cleanupRuns } from "../../db/schema";
import { raiseAlert } from "../alerts/records";
import { errorMessage, ValidationError } from "../errors";
import type { PipelineDeps } from "../pipeline/deps";
import {
  addCleanupCounts,
  archiveExpiredDay,
  type CleanupSettings,
  deleteExcludedDocuments,
  deleteOrphanedChunks,
  deleteRemovedSourceDocuments,
  expireDatasetArchives,
  failStuckRuns,
  getCleanupRun,
  maintainDatabase,
  planCleanup,
  setCleanupStatus,
  startCleanupRun,
} from "../retention/cleanup";
import { defineWorkflow, tickOf } from "./define";
import { CLEANUP_DECIDED, SCHEDULES, tickData } from "./events";

function needs(deps: PipelineDeps): Required<Pick<PipelineDeps, "archive" | "retention">> {
  if (!deps.archive || !deps.retention)
    throw new ValidationError("the cleanup needs the archive store and retention settings");
  return { archive: deps.archive, retention: deps.retention as CleanupSettings };
}

/**
 * cleanup (daily at 02:00 UTC, or on request): keeps the index free of debris and the
 * operational tables within their retention, archiving before deleting. Each run is a
 * cleanup_runs row with its plan and counts per kind.
 *   1. plan — what would be deleted (nothing is yet), the run row
 *   2. request-approval / await-approval — above the threshold, an operator decides (24 h;
 *      then abort-unapproved raises an alert); record-rejection when rejected
 *   3. fail-stuck-runs, delete-orphaned-chunks, delete-removed-source-documents,
 *      delete-excluded-documents
 *   4. archive-<table>-<day> — each expired day: archive, verify, then delete
 *   5. expire-<table>-archives — archives past ARCHIVE_RETENTION_DAYS
 *   6. maintain-database — VACUUM (ANALYZE) on the embedded database
 *   7. finish
 * onFailure: the run ends failed, with the reason (e.g. the archive store could not be reached:
 * nothing of that day was deleted).
 */
export const cleanupWorkflow = defineWorkflow({
  id: "cleanup",
  triggers: [{ cron: SCHEDULES.cleanup }],
  schema: tickData,
  concurrency: [{ limit: 1 }],
  retries: 3,
  async handler({ event, step, env, correlationId, trace }) {
    const tick = tickOf(event.data, event.ts);
    const dedupeKey = event.id ?? `cleanup:${tick.toISOString()}`;
    const start = await step.run("plan", async () => {
      const deps = await env.deps();
      const { retention } = needs(deps);
      const plan = await planCleanup(deps.db, retention, tick, deps.maxFileBytes);
      const run = await startCleanupRun(deps.db, {
        dedupeKey,
        correlationId,
        trigger: "cron" in event.data ? "schedule" : "request",
        requestedBy: "requestedBy" in event.data ? event.data.requestedBy : undefined,
        plan,
      });
      return {
        runId: run.id,
        status: run.status,
        approvalRequired: plan.approvalRequired,
        archive: plan.archive.map((a) => ({ dataset: a.dataset, days: a.days.map((d) => d.day) })),
        expiry: plan.archiveExpiry,
      };
    });
    const runId = start.runId;
    trace.annotate({ runId });
    if (start.status !== "running" && start.status !== "awaiting_approval")
      return { runId, status: start.status, note: "this run had already ended" };

    if (start.approvalRequired) {
      let decision = await step.run("request-approval", async () => {
        const { db } = await env.deps();
        const run = await getCleanupRun(db, runId);
        if (!run.decision) await setCleanupStatus(db, runId, "awaiting_approval");
        return run.decision;
      });
      if (!decision) {
        const { retention } = needs(await env.deps());
        const decided = await step.waitForEvent("await-approval", {
          event: CLEANUP_DECIDED,
          match: { runId },
          timeoutMs: retention.cleanup.approvalTimeoutHours * 3_600_000,
        });
        if (decided)
          decision = await step.run("read-decision", async () => {
            const run = await getCleanupRun((await env.deps()).db, runId);
            return run.decision;
          });
      }
      if (!decision) {
        await step.run("abort-unapproved", async () => {
          const { db } = await env.deps();
          const hours = needs(await env.deps()).retention.cleanup.approvalTimeoutHours;
          await setCleanupStatus(
            db,
            runId,
            "aborted",
            `no operator approved or rejected it within ${hours} hours (${start.approvalRequired}); nothing was deleted`,
          );
          await raiseAlert(db, {
            key: `cleanup.approval-timeout:${runId}`,
            rule: "cleanup.approval-timeout",
            severity: "warning",
            summary: `cleanup run ${runId} was aborted: no decision within ${hours} hours`,
            details: { runId, approvalRequired: start.approvalRequired },
            correlationId,
          });
        });
        return { runId, status: "aborted" };
      }
      if (decision === "reject") {
        await step.run("record-rejection", async () => {
          const { db } = await env.deps();
          const run = await getCleanupRun(db, runId);
          await setCleanupStatus(
            db,
            runId,
            "rejected",
            `rejected by ${run.decidedBy}: ${run.decisionReason}; nothing was deleted`,
          );
        });
        return { runId, status: "rejected" };
      }
      await step.run("approved", async () =>
        setCleanupStatus((await env.deps()).db, runId, "running"),
      );
    }

    const count = async (kind: Record<string, number>) => {
      await addCleanupCounts((await env.deps()).db, runId, kind);
      return kind;
    };
    await step.run("fail-stuck-runs", async () => {
      const deps = await env.deps();
      const { retention } = needs(deps);
      return count({
        stuckRuns: await failStuckRuns(deps.db, retention.cleanup.stuckRunMinutes, tick),
      });
    });
    await step.run("delete-orphaned-chunks", async () =>
      count({ orphanedChunks: await deleteOrphanedChunks((await env.deps()).db) }),
    );
    await step.run("delete-removed-source-documents", async () =>
      count({
        removedSourceDocuments: await deleteRemovedSourceDocuments((await env.deps()).db),
      }),
    );
    await step.run("delete-excluded-documents", async () => {
      const deps = await env.deps();
      const done = await deleteExcludedDocuments(deps.db, deps.maxFileBytes);
      return count({ excludedDocuments: done.documents, excludedChunks: done.chunks });
    });
    for (const { dataset, days } of start.archive)
      for (const day of days)
        await step.run(`archive-${dataset}-${day}`, async () => {
          const deps = await env.deps();
          const done = await archiveExpiredDay(deps.db, needs(deps).archive, dataset, day);
          return count({
            [`${dataset}.archivedRows`]: done.archivedRows,
            [`${dataset}.deletedRows`]: done.deletedRows,
            [`${dataset}.days`]: 1,
          });
        });
    for (const { dataset, cutoff } of start.expiry)
      await step.run(`expire-${dataset}-archives`, async () => {
        const deps = await env.deps();
        return count({
          [`${dataset}.expiredObjects`]: await expireDatasetArchives(
            deps.db,
            needs(deps).archive,
            dataset,
            cutoff,
          ),
        });
      });
    const maintenance = await step.run("maintain-database", async () => {
      const deps = await env.deps();
      return maintainDatabase(deps.db, deps.databaseDriver ?? "pg");
    });
    return step.run("finish", async () => {
      const { db } = await env.deps();
      await setCleanupStatus(db, runId, "succeeded");
      const run = await getCleanupRun(db, runId);
      return { runId, status: run.status, counts: run.counts, maintenance };
    });
  },
  async onFailure({ event, error, step, env }) {
    const tick = tickOf(event.data, event.ts);
    const dedupeKey = event.id ?? `cleanup:${tick.toISOString()}`;
    await step.run("fail-run", async () => {
      const { db } = await env.deps();
      const [run] = await db.select().from(cleanupRuns).where(eq(cleanupRuns.dedupeKey, dedupeKey));
      if (run && (run.status === "running" || run.status === "awaiting_approval"))
        await setCleanupStatus(db, run.id, "failed", `cleanup failed: ${errorMessage(error)}`);
    });
  },
});
