import { and, asc, eq, inArray, lte, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { outboxEvents } from "../../db/schema";
import { errorMessage } from "../errors";

/**
 * The transactional outbox: events are stored in the same transaction as what caused them
 * (a webhook delivery, an operator's request), then sent to Inngest. If Inngest cannot be
 * reached the event stays pending and the flusher re-sends it with backoff. The row id is
 * the Inngest event id, so a re-send of an event Inngest already has is deduplicated there.
 */
export interface OutboxEvent {
  id: string;
  name: string;
  data: Record<string, unknown>;
}

export type EventSender = (events: OutboxEvent[]) => Promise<void>;

/** After this many failed sends an event is marked dead for an operator (never deleted). */
export const MAX_SEND_ATTEMPTS = 50;
const BASE_BACKOFF_MS = 15_000;
const MAX_BACKOFF_MS = 60 * 60_000;

export async function enqueueEvents(db: Database, events: OutboxEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db
    .insert(outboxEvents)
    .values(events.map((e) => ({ id: e.id, name: e.name, data: e.data })))
    .onConflictDoNothing();
}

export interface DispatchResult {
  sent: number;
  failed: number;
  error?: string;
}

/** Sends pending events (all due ones, or just `ids`). Never throws for a send failure. */
export async function dispatchOutbox(
  db: Database,
  send: EventSender,
  options: { ids?: string[]; limit?: number; now?: Date } = {},
): Promise<DispatchResult> {
  if (options.ids?.length === 0) return { sent: 0, failed: 0 };
  const now = options.now ?? new Date();
  const rows = await db
    .select()
    .from(outboxEvents)
    .where(
      and(
        eq(outboxEvents.status, "pending"),
        options.ids ? inArray(outboxEvents.id, options.ids) : lte(outboxEvents.nextAttemptAt, now),
      ),
    )
    .orderBy(asc(outboxEvents.createdAt))
    .limit(options.limit ?? 200);
  if (rows.length === 0) return { sent: 0, failed: 0 };
  const ids = rows.map((r) => r.id);
  try {
    await send(rows.map((r) => ({ id: r.id, name: r.name, data: r.data })));
  } catch (error) {
    const message = errorMessage(error).slice(0, 500);
    await db
      .update(outboxEvents)
      .set({
        attempts: sql`${outboxEvents.attempts} + 1`,
        lastError: message,
        nextAttemptAt: sql`now() + (least(${MAX_BACKOFF_MS}, ${BASE_BACKOFF_MS} * power(2, ${outboxEvents.attempts})) || ' milliseconds')::interval`,
        status: sql`case when ${outboxEvents.attempts} + 1 >= ${MAX_SEND_ATTEMPTS} then 'dead' else 'pending' end`,
      })
      .where(inArray(outboxEvents.id, ids));
    return { sent: 0, failed: rows.length, error: message };
  }
  await db
    .update(outboxEvents)
    .set({ status: "sent", sentAt: new Date(), attempts: sql`${outboxEvents.attempts} + 1` })
    .where(inArray(outboxEvents.id, ids));
  return { sent: rows.length, failed: 0 };
}

export async function outboxStats(db: Database): Promise<Record<string, number>> {
  const rows = await db
    .select({ status: outboxEvents.status, n: sql<number>`count(*)::int` })
    .from(outboxEvents)
    .groupBy(outboxEvents.status);
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}
