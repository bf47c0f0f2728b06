import { eq, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { type ChannelState, channelHealth } from "../../db/schema";

/**
 * A minimal breaker per notification channel, kept in the database so every instance sees
 * the same state: after FAILURES_TO_OPEN consecutive failures the channel opens, and its
 * deliveries wait (pending, not lost) until retry_at; the next attempt after that is the probe:
 * success closes it, failure opens it again with a doubled wait (up to MAX_OPEN_MS).
 *
 * Isolated here on purpose: when lib/resilience gains the project's circuit breakers, this
 * module is the one place to swap (the delivery code calls only these three functions).
 */
export const FAILURES_TO_OPEN = 3;
const BASE_OPEN_MS = 60_000;
const MAX_OPEN_MS = 30 * 60_000;

export interface ChannelGate {
  state: ChannelState;
  /** When open: deliveries wait until this time. */
  retryAt: Date | null;
}

export async function channelGate(db: Database, channel: string, now: Date): Promise<ChannelGate> {
  const [row] = await db.select().from(channelHealth).where(eq(channelHealth.channel, channel));
  if (!row || row.state === "closed" || !row.retryAt || row.retryAt <= now)
    return { state: row?.state ?? "closed", retryAt: null };
  return { state: "open", retryAt: row.retryAt };
}

export async function recordChannelSuccess(
  db: Database,
  channel: string,
  now: Date,
): Promise<void> {
  await db
    .insert(channelHealth)
    .values({ channel, state: "closed", consecutiveFailures: 0, updatedAt: now })
    .onConflictDoUpdate({
      target: channelHealth.channel,
      set: {
        state: "closed",
        consecutiveFailures: 0,
        openedAt: null,
        retryAt: null,
        updatedAt: now,
      },
    });
}

/** Counts a failure; returns the gate after it (open once the failures reach the threshold). */
export async function recordChannelFailure(
  db: Database,
  channel: string,
  error: string,
  now: Date,
): Promise<ChannelGate> {
  const [row] = await db
    .insert(channelHealth)
    .values({ channel, consecutiveFailures: 1, lastError: error, updatedAt: now })
    .onConflictDoUpdate({
      target: channelHealth.channel,
      set: {
        consecutiveFailures: sql`${channelHealth.consecutiveFailures} + 1`,
        lastError: error,
        updatedAt: now,
      },
    })
    .returning();
  const failures = row?.consecutiveFailures ?? 1;
  if (failures < FAILURES_TO_OPEN) return { state: "closed", retryAt: null };
  const openMs = Math.min(MAX_OPEN_MS, BASE_OPEN_MS * 2 ** (failures - FAILURES_TO_OPEN));
  const retryAt = new Date(now.getTime() + openMs);
  await db
    .update(channelHealth)
    .set({
      state: "open",
      retryAt,
      openedAt: sql`coalesce(${channelHealth.openedAt}, ${now.toISOString()}::timestamptz)`,
    })
    .where(eq(channelHealth.channel, channel));
  return { state: "open", retryAt };
}

export async function channelStates(db: Database) {
  return db.select().from(channelHealth);
}
