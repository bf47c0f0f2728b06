/**
 * The dead-letter queue: documents and events that exhausted their retries, their re-drives
 * with backoff and a cap, and the operator's retry / discard. Entries hold ids, paths and
 * id-only event data, never file contents.
 *
 * Document entries are written when a run ends (finalizeRun): every failed item becomes (or
 * updates) the open entry of its path; every item that succeeded resolves it. A re-drive
 * releases entries (`redriven`) and asks for a sync of their source; that sync's plan takes
 * the released paths, and its end resolves them or sends them back to `pending` with the next
 * backoff, or to `parked` once `maxRecoveries` re-drives have failed.
 */
import { createHash } from "node:crypto";
import { and, asc, desc, eq, inArray, lte, sql } from "drizzle-orm";
import { type Database, rowsOf } from "../../db/client";
import {
  type DeadLetterKind,
  type DeadLetterStatus,
  deadLetterAttempts,
  deadLetters,
  syncRunItems,
} from "../../db/schema";
import { NotFoundError, ValidationError } from "../errors";
import type { BreakerRegistry } from "../resilience/breaker";
import { isDependency } from "../resilience/breaker";
import { SYNC_REQUESTED } from "../workflows/events";
import type { WorkflowEvent } from "../workflows/types";

export type DeadLetter = typeof deadLetters.$inferSelect;

export interface DlqSettings {
  /** Re-drives before an entry is parked. Default 5. */
  maxRecoveries: number;
  /** Open entries (pending + parked) above which an alert is raised. Default 100. */
  alertDepth: number;
  /** Backoff before re-drive n+1: base·2^n, capped at a day. Default 15 minutes. */
  backoffBaseMs?: number;
}

export const DLQ_DEFAULTS: DlqSettings = {
  maxRecoveries: 5,
  alertDepth: 100,
  backoffBaseMs: 15 * 60_000,
};

const MAX_BACKOFF_MS = 24 * 3_600_000;

export function entryBackoffMs(recoveries: number, settings: DlqSettings): number {
  const base = settings.backoffBaseMs ?? DLQ_DEFAULTS.backoffBaseMs ?? 900_000;
  return Math.min(MAX_BACKOFF_MS, base * 2 ** Math.max(0, recoveries));
}

const OPEN = sql`status in ('pending', 'redriven', 'parked')`;

async function logAttempt(
  db: Database,
  entryIds: string[],
  action: string,
  actor: string,
  detail?: string,
): Promise<void> {
  if (entryIds.length === 0) return;
  await db
    .insert(deadLetterAttempts)
    .values(
      entryIds.map((entryId) => ({ entryId, action, actor, detail: detail?.slice(0, 1000) })),
    );
}

/**
 * At the end of a run (inside finalizeRun's transaction): failed items into the queue, items
 * that succeeded out of it.
 */
export async function recordRunOutcome(
  db: Database,
  run: { id: string; sourceId: string; correlationId: string | null },
  settings: DlqSettings = DLQ_DEFAULTS,
  now = new Date(),
): Promise<{ failed: number; resolved: number; parked: number }> {
  const base = settings.backoffBaseMs ?? DLQ_DEFAULTS.backoffBaseMs ?? 900_000;
  // New entries, and open entries seen failing again. A released (redriven) entry that failed
  // again counts a failed recovery: back to pending with the next backoff, or parked.
  const failed = rowsOf<{ id: string; status: DeadLetterStatus }>(
    await db.execute(sql`
      insert into ${deadLetters} as d (kind, key, source_id, run_id, path, blob_sha, dependency,
        error_class, message, next_attempt_at, correlation_id)
      select 'document', 'document:' || ${run.sourceId} || ':' || i.path, ${run.sourceId}::uuid, ${run.id}::uuid,
        i.path, i.blob_sha, i.dependency, coalesce(i.error_class, 'internal'),
        left(coalesce(i.error, 'failed'), 2000), ${now}::timestamptz + make_interval(secs => ${base / 1000}),
        ${run.correlationId}
      from ${syncRunItems} i where i.run_id = ${run.id} and i.status = 'failed'
      on conflict (key) where status in ('pending', 'redriven', 'parked') do update set
        run_id = excluded.run_id, blob_sha = excluded.blob_sha, dependency = excluded.dependency,
        error_class = excluded.error_class, message = excluded.message,
        attempts = d.attempts + 1, last_seen_at = ${now},
        status = case
          when d.status = 'redriven' and d.recoveries >= ${settings.maxRecoveries} then 'parked'
          when d.status = 'redriven' then 'pending'
          else d.status end,
        next_attempt_at = ${now}::timestamptz + make_interval(secs => least(${MAX_BACKOFF_MS / 1000}, ${base / 1000} * power(2, d.recoveries)))
      returning d.id, d.status`),
  );
  await logAttempt(
    db,
    failed.map((f) => f.id),
    "failed",
    `run ${run.id}`,
  );
  const parkedIds = failed.filter((f) => f.status === "parked").map((f) => f.id);
  const resolved = rowsOf<{ id: string }>(
    await db.execute(sql`
      update ${deadLetters} d set status = 'resolved', resolved_at = ${now},
        resolution = ${`succeeded in run ${run.id}`}
      from ${syncRunItems} i
      where d.source_id = ${run.sourceId} and d.kind = 'document' and d.status in ('pending', 'redriven', 'parked')
        and i.run_id = ${run.id} and i.path = d.path and i.status in ('done', 'skipped')
      returning d.id`),
  );
  await logAttempt(
    db,
    resolved.map((r) => r.id),
    "resolved",
    `run ${run.id}`,
  );
  return { failed: failed.length, resolved: resolved.length, parked: parkedIds.length };
}

/** Paths of the source's released document entries (the plan of the next sync takes them). */
export async function releasedDocuments(
  db: Database,
  sourceId: string,
): Promise<{ path: string; blobSha: string | null }[]> {
  return db
    .select({ path: deadLetters.path, blobSha: deadLetters.blobSha })
    .from(deadLetters)
    .where(
      and(
        eq(deadLetters.sourceId, sourceId),
        eq(deadLetters.kind, "document"),
        eq(deadLetters.status, "redriven"),
      ),
    ) as Promise<{ path: string; blobSha: string | null }[]>;
}

export interface EventFailure {
  functionId: string;
  event: { id?: string; name: string; data: Record<string, unknown> };
  errorClass: string;
  message: string;
  dependency?: string;
  sourceId?: string;
  correlationId?: string;
}

/** The root id of an event re-driven from the queue (`<id>:redrive:<n>` → `<id>`). */
export function rootEventId(id: string): string {
  return id.replace(/(:redrive:\d+)+$/, "");
}

/** A failed function's event into the queue (or its open entry updated). */
export async function recordEventFailure(
  db: Database,
  failure: EventFailure,
  settings: DlqSettings = DLQ_DEFAULTS,
  now = new Date(),
): Promise<{ id: string; status: DeadLetterStatus }> {
  const base = settings.backoffBaseMs ?? DLQ_DEFAULTS.backoffBaseMs ?? 900_000;
  const root = rootEventId(
    failure.event.id ??
      createHash("sha256")
        .update(JSON.stringify([failure.event.name, failure.event.data]))
        .digest("hex")
        .slice(0, 32),
  );
  const [row] = rowsOf<{ id: string; status: DeadLetterStatus }>(
    await db.execute(sql`
      insert into ${deadLetters} as d (kind, key, source_id, function_id, event_name, event_data,
        dependency, error_class, message, next_attempt_at, correlation_id)
      values ('event', ${`event:${root}`}, ${failure.sourceId ?? null}, ${failure.functionId},
        ${failure.event.name}, ${JSON.stringify({ ...failure.event.data, __rootId: root })}::jsonb,
        ${failure.dependency ?? null}, ${failure.errorClass}, ${failure.message.slice(0, 2000)},
        ${now}::timestamptz + make_interval(secs => ${base / 1000}), ${failure.correlationId ?? null})
      on conflict (key) where status in ('pending', 'redriven', 'parked') do update set
        message = excluded.message, error_class = excluded.error_class, attempts = d.attempts + 1,
        last_seen_at = ${now},
        status = case
          when d.status = 'redriven' and d.recoveries >= ${settings.maxRecoveries} then 'parked'
          when d.status = 'redriven' then 'pending'
          else d.status end,
        next_attempt_at = ${now}::timestamptz + make_interval(secs => least(${MAX_BACKOFF_MS / 1000}, ${base / 1000} * power(2, d.recoveries)))
      returning d.id, d.status`),
  );
  if (!row) throw new Error("dead-letter insert returned nothing");
  await logAttempt(db, [row.id], "failed", failure.functionId, failure.message);
  return row;
}

export interface ListOptions {
  status?: DeadLetterStatus | "open";
  kind?: DeadLetterKind;
  sourceId?: string;
  limit?: number;
}

function listFilter(options: ListOptions) {
  return [
    options.status === "open" || options.status === undefined
      ? OPEN
      : eq(deadLetters.status, options.status),
    options.kind ? eq(deadLetters.kind, options.kind) : undefined,
    options.sourceId ? eq(deadLetters.sourceId, options.sourceId) : undefined,
  ].filter((w) => w !== undefined);
}

/** Entries newest (last seen) first, at most `limit` (1..1000, default 100). */
export async function listDeadLetters(db: Database, options: ListOptions = {}) {
  const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
  return db
    .select()
    .from(deadLetters)
    .where(and(...listFilter(options)))
    .orderBy(desc(deadLetters.lastSeenAt), desc(deadLetters.id))
    .limit(limit);
}

export const DLQ_PAGE_SIZE = 50;
/** A page's total is counted up to this many entries (then shown as "more than"). */
export const DLQ_COUNT_CAP = 10_000;

export interface DeadLetterPage {
  entries: DeadLetter[];
  /** Entries matching the filter, counted up to DLQ_COUNT_CAP. */
  total: number;
  /** More than DLQ_COUNT_CAP match (total is the cap). */
  totalCapped: boolean;
  /** Cursor of the next (older) page: its first entry follows this id; none on the last page. */
  older?: string;
  /** Cursor of the previous (newer) page; none on the first page. */
  newer?: string;
}

/**
 * One page of the queue, newest first, by keyset on (last_seen_at, id): `before` an entry id
 * (the older page) or `after` one (the newer page); neither is the first page. A cursor must
 * be a UUID (ValidationError); one that names no entry gives the first page. The position is
 * the cursor row's own (last_seen_at, id), read in the statement, so no timestamp is rounded
 * through JavaScript. Served by dead_letters_status_seen_idx and dead_letters_open_seen_idx.
 */
export async function pageDeadLetters(
  db: Database,
  options: ListOptions & { before?: string; after?: string; pageSize?: number },
): Promise<DeadLetterPage> {
  const size = Math.min(Math.max(options.pageSize ?? DLQ_PAGE_SIZE, 1), 1000);
  const cursor = options.before ?? options.after;
  if (cursor !== undefined && !UUID.test(cursor))
    throw new ValidationError("the page cursor must be a dead-letter id (a UUID)", [
      { path: options.before !== undefined ? "before" : "after", message: "not a UUID" },
    ]);
  const filter = listFilter(options);
  let anchor: { lastSeenAt: Date; id: string } | undefined;
  if (cursor !== undefined) {
    const [row] = await db
      .select({ lastSeenAt: deadLetters.lastSeenAt, id: deadLetters.id })
      .from(deadLetters)
      .where(eq(deadLetters.id, cursor))
      .limit(1);
    anchor = row;
  }
  const position = sql`(${deadLetters.lastSeenAt}, ${deadLetters.id})`;
  const anchorRow = sql`(select last_seen_at, id from ${deadLetters} where id = ${cursor ?? null})`;
  const forward = anchor === undefined || options.before !== undefined;
  const [rows, counted] = await Promise.all([
    db
      .select()
      .from(deadLetters)
      .where(
        and(
          ...filter,
          anchor === undefined
            ? undefined
            : forward
              ? sql`${position} < ${anchorRow}`
              : sql`${position} > ${anchorRow}`,
        ),
      )
      .orderBy(
        ...(forward
          ? [desc(deadLetters.lastSeenAt), desc(deadLetters.id)]
          : [asc(deadLetters.lastSeenAt), asc(deadLetters.id)]),
      )
      .limit(size + 1),
    db.execute(sql`select count(*)::int as n from (select 1 from ${deadLetters}
      where ${and(...filter)} limit ${DLQ_COUNT_CAP + 1}) capped`),
  ]);
  const more = rows.length > size;
  const entries = rows.slice(0, size);
  if (!forward) entries.reverse();
  const n = Number(rowsOf<{ n: number }>(counted)[0]?.n ?? 0);
  const first = entries[0];
  const last = entries.at(-1);
  return {
    entries,
    total: Math.min(n, DLQ_COUNT_CAP),
    totalCapped: n > DLQ_COUNT_CAP,
    // Older: after a forward page with more rows, or any backward page (it came from one).
    older: last && (forward ? more : true) ? last.id : undefined,
    // Newer: any page reached with a cursor going forward, or a backward page with more rows.
    newer: first && (forward ? anchor !== undefined : more) ? first.id : undefined,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function getDeadLetter(db: Database, id: string) {
  if (!UUID.test(id))
    throw new ValidationError("the dead-letter id must be a UUID", [
      { path: "id", message: "not a UUID" },
    ]);
  const [entry] = await db.select().from(deadLetters).where(eq(deadLetters.id, id)).limit(1);
  if (!entry) throw new NotFoundError(`no dead-letter entry ${id}`);
  const attempts = await db
    .select()
    .from(deadLetterAttempts)
    .where(eq(deadLetterAttempts.entryId, id))
    .orderBy(asc(deadLetterAttempts.at));
  return { entry, attempts };
}

/** Open entries: pending + parked (released ones are being re-tried). */
export async function dlqDepth(
  db: Database,
): Promise<{ pending: number; parked: number; redriven: number }> {
  const rows = rowsOf<{ status: string; n: number }>(
    await db.execute(
      sql`select status, count(*)::int as n from ${deadLetters} where ${OPEN} group by status`,
    ),
  );
  const of = (s: string) => Number(rows.find((r) => r.status === s)?.n ?? 0);
  return { pending: of("pending"), parked: of("parked"), redriven: of("redriven") };
}

/** The events that re-drive released entries: one sync per source, each event again. */
export function redriveEvents(
  entries: DeadLetter[],
  context: { requestedBy: string; correlationId: string },
): WorkflowEvent[] {
  const events: WorkflowEvent[] = [];
  const bySource = new Map<string, DeadLetter[]>();
  for (const entry of entries) {
    if (entry.kind === "document" && entry.sourceId) {
      const list = bySource.get(entry.sourceId) ?? [];
      list.push(entry);
      bySource.set(entry.sourceId, list);
    } else if (entry.kind === "event" && entry.eventName && entry.eventData) {
      const { __rootId, ...data } = entry.eventData as Record<string, unknown> & {
        __rootId?: string;
      };
      const root = typeof __rootId === "string" ? __rootId : entry.id;
      const suffix = `:redrive:${entry.recoveries}`;
      // A sync request is idempotent by its dedupe key: a re-drive is a new request.
      if (entry.eventName === SYNC_REQUESTED && typeof data.dedupeKey === "string")
        Object.assign(data, {
          dedupeKey: `${rootEventId(data.dedupeKey)}${suffix}`.slice(0, 200),
          trigger: "retry",
        });
      events.push({ id: `${root}${suffix}`, name: entry.eventName, data });
    }
  }
  for (const [sourceId, list] of bySource) {
    const fingerprint = createHash("sha256")
      .update(
        list
          .map((e) => `${e.id}:${e.recoveries}`)
          .sort()
          .join(","),
      )
      .digest("hex")
      .slice(0, 16);
    events.push({
      id: `recovery:${sourceId}:${fingerprint}`,
      name: SYNC_REQUESTED,
      data: {
        sourceId,
        mode: "incremental",
        trigger: "retry",
        requestedBy: context.requestedBy,
        dedupeKey: `recovery:${sourceId}:${fingerprint}`,
        correlationId: context.correlationId,
      },
    });
  }
  return events;
}

/** Marks entries released for another attempt and logs it; returns them as updated. */
async function release(
  db: Database,
  ids: string[],
  action: string,
  actor: string,
  detail?: string,
): Promise<DeadLetter[]> {
  if (ids.length === 0) return [];
  const updated = await db
    .update(deadLetters)
    .set({
      status: "redriven",
      recoveries: sql`${deadLetters.recoveries} + 1`,
      lastSeenAt: sql`${deadLetters.lastSeenAt}`,
    })
    .where(and(inArray(deadLetters.id, ids), sql`${deadLetters.status} in ('pending', 'parked')`))
    .returning();
  await logAttempt(
    db,
    updated.map((u) => u.id),
    action,
    actor,
    detail,
  );
  return updated;
}

export interface RecoveryPlan {
  events: WorkflowEvent[];
  redriven: string[];
  /** Entries due whose dependency's breaker is open. */
  waitingOnBreaker: { id: string; dependency: string }[];
  parked: string[];
}

/**
 * The error-recovery workflow's step: due pending entries whose dependency's breaker is not
 * open are released (one recovery each); entries out of recoveries are parked.
 */
export async function planRecovery(
  db: Database,
  options: {
    breakers?: BreakerRegistry;
    settings?: DlqSettings;
    now?: Date;
    correlationId: string;
    limit?: number;
  },
): Promise<RecoveryPlan> {
  const settings = options.settings ?? DLQ_DEFAULTS;
  const now = options.now ?? new Date();
  const due = await db
    .select()
    .from(deadLetters)
    .where(and(eq(deadLetters.status, "pending"), lte(deadLetters.nextAttemptAt, now)))
    .orderBy(asc(deadLetters.nextAttemptAt))
    .limit(options.limit ?? 500);
  const plan: RecoveryPlan = { events: [], redriven: [], waitingOnBreaker: [], parked: [] };
  const toPark: string[] = [];
  const toRelease: string[] = [];
  const states = new Map<string, string>();
  for (const entry of due) {
    if (entry.recoveries >= settings.maxRecoveries) {
      toPark.push(entry.id);
      continue;
    }
    const dependency = entry.dependency;
    if (dependency && isDependency(dependency) && options.breakers) {
      let state = states.get(dependency);
      if (!state) {
        state = await options.breakers.get(dependency).state();
        states.set(dependency, state);
      }
      if (state === "open") {
        plan.waitingOnBreaker.push({ id: entry.id, dependency });
        continue;
      }
    }
    toRelease.push(entry.id);
  }
  if (toPark.length > 0) {
    await db.update(deadLetters).set({ status: "parked" }).where(inArray(deadLetters.id, toPark));
    await logAttempt(db, toPark, "park", "error-recovery", "out of recoveries");
    plan.parked = toPark;
  }
  const released = await release(db, toRelease, "redrive", "error-recovery");
  plan.redriven = released.map((r) => r.id);
  plan.events = redriveEvents(released, {
    requestedBy: "error-recovery",
    correlationId: options.correlationId,
  });
  return plan;
}

/** An operator's retry of one entry (pending or parked): released now, whatever its backoff. */
export async function retryDeadLetter(
  db: Database,
  id: string,
  actor: string,
  correlationId: string,
): Promise<{ entry: DeadLetter; events: WorkflowEvent[] }> {
  const { entry } = await getDeadLetter(db, id);
  if (entry.status !== "pending" && entry.status !== "parked")
    throw new ValidationError(
      `dead-letter entry ${id} is ${entry.status}; only pending or parked entries can be retried`,
      [{ path: "id", message: `status ${entry.status}` }],
    );
  const [released] = await release(db, [id], "retry", actor);
  if (!released) throw new NotFoundError(`dead-letter entry ${id} changed meanwhile; list again`);
  return {
    entry: released,
    events: redriveEvents([released], { requestedBy: actor, correlationId }),
  };
}

/** Every pending and parked entry released now (bounded per call). */
export async function retryAllDeadLetters(
  db: Database,
  actor: string,
  correlationId: string,
  limit = 1000,
): Promise<{ count: number; events: WorkflowEvent[] }> {
  const open = await db
    .select({ id: deadLetters.id })
    .from(deadLetters)
    .where(sql`${deadLetters.status} in ('pending', 'parked')`)
    .limit(limit);
  const released = await release(
    db,
    open.map((o) => o.id),
    "retry",
    actor,
  );
  return {
    count: released.length,
    events: redriveEvents(released, { requestedBy: actor, correlationId }),
  };
}

/** An operator gives up on an entry; the reason is required and recorded. */
export async function discardDeadLetter(
  db: Database,
  id: string,
  actor: string,
  reason: string,
): Promise<DeadLetter> {
  const trimmed = typeof reason === "string" ? reason.trim() : "";
  if (trimmed.length < 3 || trimmed.length > 500)
    throw new ValidationError("a reason (3-500 characters) is required to discard an entry", [
      { path: "reason", message: "required, 3-500 characters" },
    ]);
  const { entry } = await getDeadLetter(db, id);
  if (entry.status === "resolved" || entry.status === "discarded")
    throw new ValidationError(`dead-letter entry ${id} is already ${entry.status}`, [
      { path: "id", message: `status ${entry.status}` },
    ]);
  const [updated] = await db
    .update(deadLetters)
    .set({
      status: "discarded",
      resolvedAt: new Date(),
      resolution: `discarded by ${actor}: ${trimmed}`,
    })
    .where(and(eq(deadLetters.id, id), OPEN))
    .returning();
  if (!updated) throw new NotFoundError(`dead-letter entry ${id} changed meanwhile; list again`);
  await logAttempt(db, [id], "discard", actor, trimmed);
  return updated;
}
