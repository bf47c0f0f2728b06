import type { OutboxEvent } from "../lib/outbox/outbox";
import { inngest } from "./client";

/** The outbox's sender: events go to Inngest with their stored id (Inngest deduplicates). */
export async function sendToInngest(events: OutboxEvent[]): Promise<void> {
  await inngest.send(events.map((e) => ({ id: e.id, name: e.name, data: e.data })));
}
