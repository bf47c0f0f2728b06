import { and, desc, eq, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { type AlertSeverity, type AlertStatus, alerts } from "../../db/schema";

export interface RaiseAlert {
  /** Dedupe key: while a record with this key is firing, raising it again only counts. */
  key: string;
  rule: string;
  severity: AlertSeverity;
  summary: string;
  details?: Record<string, unknown>;
  sourceId?: string | null;
  correlationId?: string | null;
}

export interface AlertRecord {
  id: string;
  key: string;
  rule: string;
  severity: AlertSeverity;
  status: AlertStatus;
  summary: string;
  details: Record<string, unknown>;
  sourceId: string | null;
  correlationId: string | null;
  occurrences: number;
  firstRaisedAt: Date;
  lastRaisedAt: Date;
  resolvedAt: Date | null;
  resolution: string | null;
}

const KEY = /^[\w.:@/-]{1,200}$/;

function checkKey(key: string): void {
  if (!KEY.test(key)) throw new Error(`alert key ${JSON.stringify(key)} is not a valid key`);
}

/**
 * Raises an alert record, or counts another occurrence of the one already firing under the
 * same key (summary, severity and details take the latest values). Returns the record and
 * whether it was new, so a caller (the monitor) knows a notification is due.
 */
export async function raiseAlert(
  db: Database,
  input: RaiseAlert,
): Promise<{ alert: AlertRecord; created: boolean }> {
  checkKey(input.key);
  const rows = await db
    .insert(alerts)
    .values({
      key: input.key,
      rule: input.rule,
      severity: input.severity,
      summary: input.summary,
      details: input.details ?? {},
      sourceId: input.sourceId ?? null,
      correlationId: input.correlationId ?? null,
    })
    .onConflictDoUpdate({
      target: alerts.key,
      targetWhere: sql`${alerts.status} = 'firing'`,
      set: {
        severity: input.severity,
        summary: input.summary,
        details: input.details ?? {},
        correlationId: input.correlationId ?? null,
        occurrences: sql`${alerts.occurrences} + 1`,
        lastRaisedAt: sql`now()`,
      },
    })
    .returning();
  const alert = rows[0] as AlertRecord;
  return { alert, created: alert.occurrences === 1 };
}

/** Resolves the firing record under `key`, if any. Returns it, or undefined when none fired. */
export async function resolveAlert(
  db: Database,
  key: string,
  resolution: string,
): Promise<AlertRecord | undefined> {
  checkKey(key);
  const rows = await db
    .update(alerts)
    .set({ status: "resolved", resolvedAt: sql`now()`, resolution })
    .where(and(eq(alerts.key, key), eq(alerts.status, "firing")))
    .returning();
  return rows[0] as AlertRecord | undefined;
}

export async function listAlerts(
  db: Database,
  options: { status?: AlertStatus; limit?: number } = {},
): Promise<AlertRecord[]> {
  const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
  const query = db.select().from(alerts);
  const rows = await (options.status ? query.where(eq(alerts.status, options.status)) : query)
    .orderBy(desc(alerts.lastRaisedAt))
    .limit(limit);
  return rows as AlertRecord[];
}
