/**
 * The error-recovery workflow's work besides the re-drives (lib/recovery/dlq.ts): a Ballast
 * function's final failure into the dead-letter queue, and the alert records for a failed
 * sync and a deep queue (through lib/alerts/records.ts; delivery belongs to monitoring).
 */
import { sql } from "drizzle-orm";
import { type Database, rowsOf } from "../../db/client";
import { raiseAlert, resolveAlert } from "../alerts/records";
import { errorMessage } from "../errors";
import { createScrubber } from "../log/scrub";
import { classifyFailure } from "../workflows/define";
import type { FunctionFailedData } from "../workflows/events";
import { type DlqSettings, dlqDepth, recordEventFailure } from "./dlq";

/** Ballast's functions whose failed events are re-driven from the queue. */
const REDRIVEN_FUNCTIONS = new Set(["sync-source", "schedule-syncs", "flush-outbox"]);

/** `ballast-sync-source` (Inngest prefixes the app id) → `sync-source`. */
export function ballastFunctionOf(functionId: string, appId: string): string | null {
  const id = functionId.startsWith(`${appId}-`) ? functionId.slice(appId.length + 1) : functionId;
  return /^[a-z0-9-]+$/.test(id) ? id : null;
}

export interface FailureRecord {
  recorded: boolean;
  /** Why nothing was recorded. */
  ignored?: string;
  entryId?: string;
  alert?: string;
}

/**
 * Records a function's final failure: process-batch's documents are already dead-lettered by
 * their run, so only the other functions' events are; a failed sync also raises an alert.
 */
export async function recordFunctionFailure(
  db: Database,
  failed: FunctionFailedData,
  options: { appId: string; settings?: DlqSettings; secrets?: string[]; correlationId: string },
): Promise<FailureRecord> {
  const fn = ballastFunctionOf(failed.function_id, options.appId);
  if (!fn || !failed.function_id.startsWith(`${options.appId}-`))
    return { recorded: false, ignored: "not a Ballast function" };
  if (fn === "process-batch")
    return { recorded: false, ignored: "batch documents are dead-lettered by their run" };
  if (!REDRIVEN_FUNCTIONS.has(fn)) return { recorded: false, ignored: `${fn} is not re-driven` };
  const scrub = createScrubber(options.secrets ?? []);
  const message = scrub(failed.error ? errorMessage(failed.error) : "failed").slice(0, 2000);
  const data = failed.event.data ?? {};
  const sourceId = typeof data.sourceId === "string" ? data.sourceId : undefined;
  const validSource =
    sourceId && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(sourceId)
      ? sourceId
      : undefined;
  const sourceExists = validSource
    ? rowsOf<{ n: number }>(
        await db.execute(sql`select count(*)::int as n from sources where id = ${validSource}`),
      )[0]?.n === 1
    : false;
  const failure = classifyFailure({ name: failed.error?.name ?? "Error", message });
  const entry = await recordEventFailure(
    db,
    {
      functionId: fn,
      event: { id: failed.event.id, name: failed.event.name, data },
      errorClass: failure.errorClass,
      dependency: failure.dependency,
      message,
      sourceId: sourceExists ? validSource : undefined,
      correlationId: options.correlationId,
    },
    options.settings,
  );
  let alert: string | undefined;
  if (fn === "sync-source") {
    alert = `sync.failed:${validSource ?? "unknown"}`;
    await raiseAlert(db, {
      key: alert,
      rule: "sync.failed",
      severity: "critical",
      summary: `a sync failed after its retries: ${message.slice(0, 200)}`,
      details: { functionId: fn, eventId: failed.event.id ?? null, deadLetterId: entry.id },
      sourceId: sourceExists ? validSource : null,
      correlationId: options.correlationId,
    });
  }
  return { recorded: true, entryId: entry.id, alert };
}

export interface AlertCheck {
  depth: number;
  dlqAlert: "raised" | "resolved" | "none";
  failedSyncs: string[];
}

/**
 * Raises `dlq.depth` when open entries exceed the threshold (resolves it below), and
 * `sync.failed:<source>` for every source whose latest finished run failed (resolved once a
 * later run finishes otherwise): the same records whichever driver ran the sync.
 */
export async function checkRecoveryAlerts(
  db: Database,
  settings: DlqSettings,
  correlationId: string,
): Promise<AlertCheck> {
  const depth = await dlqDepth(db);
  const open = depth.pending + depth.parked;
  let dlqAlert: AlertCheck["dlqAlert"] = "none";
  if (open > settings.alertDepth) {
    await raiseAlert(db, {
      key: "dlq.depth",
      rule: "dlq.depth",
      severity: "warning",
      summary: `${open} dead-letter entries are open (threshold ${settings.alertDepth})`,
      details: { pending: depth.pending, parked: depth.parked, threshold: settings.alertDepth },
      correlationId,
    });
    dlqAlert = "raised";
  } else if (await resolveAlert(db, "dlq.depth", `depth ${open} is within ${settings.alertDepth}`))
    dlqAlert = "resolved";

  const latest = rowsOf<{ source_id: string; id: string; status: string; error: string | null }>(
    await db.execute(sql`
      select distinct on (source_id) source_id, id, status, error from sync_runs
      where status in ('succeeded', 'completed_with_errors', 'failed')
      order by source_id, finished_at desc nulls last`),
  );
  const failedSyncs: string[] = [];
  for (const run of latest) {
    const key = `sync.failed:${run.source_id}`;
    if (run.status === "failed") {
      failedSyncs.push(run.source_id);
      await raiseAlert(db, {
        key,
        rule: "sync.failed",
        severity: "critical",
        summary: `the latest sync failed: ${(run.error ?? "failed").slice(0, 200)}`,
        details: { runId: run.id },
        sourceId: run.source_id,
        correlationId,
      });
    } else await resolveAlert(db, key, `run ${run.id} ended ${run.status}`);
  }
  return { depth: open, dlqAlert, failedSyncs };
}
