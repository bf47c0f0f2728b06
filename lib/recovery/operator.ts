/**
 * What the admin API and the CLI do with breakers and the dead-letter queue, written once.
 * Re-drive events go through the outbox (recorded first, then sent), like every request.
 */
import type { Database } from "../../db/client";
import { ValidationError } from "../errors";
import { enqueueEvents, type OutboxEvent } from "../outbox/outbox";
import type { BreakerRegistry, BreakerSnapshot } from "../resilience/breaker";
import type { WorkflowEvent } from "../workflows/types";
import { retryAllDeadLetters, retryDeadLetter } from "./dlq";

export async function breakerStates(breakers: BreakerRegistry): Promise<BreakerSnapshot[]> {
  return breakers.snapshots();
}

/** Closes one breaker (an operator knows the dependency is back). */
export async function resetBreaker(
  breakers: BreakerRegistry,
  name: string,
): Promise<BreakerSnapshot> {
  if (!breakers.has(name)) {
    const names = breakers.names().join(", ");
    throw new ValidationError(`no breaker "${name.slice(0, 60)}": one of ${names}`, [
      { path: "name", message: `one of ${names}` },
    ]);
  }
  const breaker = breakers.get(name);
  await breaker.close();
  return breaker.snapshot();
}

export function toOutbox(events: WorkflowEvent[]): OutboxEvent[] {
  return events.map((e) => ({
    id: e.id ?? `redrive:${Date.now()}`,
    name: e.name,
    data: e.data as Record<string, unknown>,
  }));
}

/** Releases one entry and records its re-drive events in the outbox; returns their ids. */
export async function retryEntry(db: Database, id: string, actor: string, correlationId: string) {
  const { entry, events } = await retryDeadLetter(db, id, actor, correlationId);
  const outbox = toOutbox(events);
  await enqueueEvents(db, outbox);
  return { entry, eventIds: outbox.map((e) => e.id) };
}

export async function retryAll(db: Database, actor: string, correlationId: string) {
  const { count, events } = await retryAllDeadLetters(db, actor, correlationId);
  const outbox = toOutbox(events);
  await enqueueEvents(db, outbox);
  return { count, eventIds: outbox.map((e) => e.id) };
}
