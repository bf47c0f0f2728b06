import type { OutboxEvent } from "../lib/outbox/outbox";
import { getEmbeddedRunner } from "../lib/runner";
import { inngest } from "./client";

/**
 * The outbox's sender in the app: to the embedded runner when it runs the workflows (no
 * Inngest server on the embedded defaults), else to Inngest with each event's stored id
 * (Inngest deduplicates a re-send).
 */
export async function sendEvents(events: OutboxEvent[]): Promise<void> {
  const runner = getEmbeddedRunner();
  if (runner) return runner.accept(events);
  await inngest.send(events.map((e) => ({ id: e.id, name: e.name, data: e.data })));
}
