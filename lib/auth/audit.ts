import { desc, lt } from "drizzle-orm";
import type { Database } from "../../db/client";
import { auditLog } from "../../db/schema";

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

export async function recordAudit(db: Database, entry: AuditEntry): Promise<void> {
  await db.insert(auditLog).values({
    actor: entry.actor,
    actorKeyId: entry.actorKeyId ?? null,
    action: entry.action,
    target: entry.target ?? null,
    result: entry.result,
    status: entry.status ?? null,
    details: entry.details ?? null,
    requestId: entry.requestId ?? null,
  });
}

export async function listAudit(db: Database, options: { limit: number; before?: number }) {
  const query = db.select().from(auditLog);
  const filtered =
    options.before === undefined ? query : query.where(lt(auditLog.id, options.before));
  return filtered.orderBy(desc(auditLog.id)).limit(options.limit);
}
