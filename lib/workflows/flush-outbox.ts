import { dispatchOutbox } from "../outbox/outbox";
import { defineWorkflow } from "./define";
import { SCHEDULES, tickData } from "./events";

/**
 * flush-outbox (every 5 minutes, or on request): re-send events that could not reach the
 * workflow engine when they were recorded (webhook deliveries and operator requests while
 * Inngest was unreachable, requests made by the CLI while the app was stopped).
 *   1. dispatch — send what is due, with backoff for what fails again
 */
export const flushOutboxWorkflow = defineWorkflow({
  id: "flush-outbox",
  triggers: [{ cron: SCHEDULES.flushOutbox }],
  schema: tickData,
  concurrency: [{ limit: 1 }],
  retries: 2,
  async handler({ step, env }) {
    return step.run("dispatch", async () => dispatchOutbox((await env.deps()).db, env.dispatch));
  },
});
