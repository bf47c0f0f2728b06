import { desc, eq, lt, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { auditLog } from "../../db/schema";
import type { KeyValue } from "../redis/types";

export type AuditResult = "ok" | "denied" | "error";

export interface AuditEntry {
  actor: string;
  actorKeyId?: string | null;
  action: string;
  target?: string | null;
  result: AuditResult;
  status?: number | null;
  details?: Record<string, unknown> | null;
  requestId?: string | null;
}

export async function recordAudit(db: Database, entry: AuditEntry): Promise<number | undefined> {
  const [row] = await db
    .insert(auditLog)
    .values({
      actor: entry.actor,
      actorKeyId: entry.actorKeyId ?? null,
      action: entry.action,
      target: entry.target ?? null,
      result: entry.result,
      status: entry.status ?? null,
      details: entry.details ?? null,
      requestId: entry.requestId ?? null,
    })
    .returning({ id: auditLog.id });
  return row?.id;
}

/** Anonymous denials from one client are aggregated per window of this length. */
export const DENIAL_WINDOW_MS = 60_000;

/**
 * Records a denied anonymous request without letting one client grow the log without bound:
 * the first denial from a client for an action and status (401, 429) in a window writes a
 * row; later ones in the same window only count (in Redis), and the row's `details.count` is
 * brought up to date when the count reaches 2, 4, 8, … — one row and O(log n) updates per
 * client, action and status per window. If Redis cannot count, the row is written (auditing
 * wins).
 */
export async function recordDenial(
  db: Database,
  counter: KeyValue,
  client: string,
  entry: AuditEntry & { status: number },
): Promise<"written" | "counted"> {
  const window = Math.floor(Date.now() / DENIAL_WINDOW_MS);
  const bucket = `${client}:${entry.action}:${entry.status}:${window}`;
  const countKey = `denied:${bucket}`;
  const rowKey = `denied-row:${bucket}`;
  const ttlMs = DENIAL_WINDOW_MS * 2;
  let count: number;
  try {
    count = await counter.increment(countKey, { ttlMs });
  } catch {
    count = 1;
  }
  const windowStart = new Date(window * DENIAL_WINDOW_MS).toISOString();
  if (count === 1) {
    const id = await recordAudit(db, {
      ...entry,
      details: { ...entry.details, count: 1, window: windowStart },
    });
    if (id !== undefined) await counter.set(rowKey, String(id), { ttlMs }).catch(() => false);
    return "written";
  }
  if ((count & (count - 1)) === 0) {
    const id = Number(await counter.get(rowKey).catch(() => null));
    if (Number.isSafeInteger(id) && id > 0)
      await db
        .update(auditLog)
        .set({
          details: sql`coalesce(${auditLog.details}, '{}'::jsonb) || jsonb_build_object('count', ${count}::int)`,
        })
        .where(eq(auditLog.id, id));
  }
  return "counted";
}

export async function listAudit(db: Database, options: { limit: number; before?: number }) {
  const query = db.select().from(auditLog);
  const filtered =
    options.before === undefined ? query : query.where(lt(auditLog.id, options.before));
  return filtered.orderBy(desc(auditLog.id)).limit(options.limit);
}
