import { dispatchOutbox } from "../../lib/outbox/outbox";
import { inngest } from "../client";
import { schedules } from "../events";
import { deps } from "../policy";
import { sendToInngest } from "../send";

/**
 * flush-outbox (every 5 minutes): re-send events that could not reach Inngest when they
 * were recorded (webhook deliveries and operator requests while Inngest was unreachable).
 *   1. dispatch — send what is due, with backoff for what fails again
 */
export const flushOutbox = inngest.createFunction(
  { id: "flush-outbox", triggers: [schedules.flushOutbox], concurrency: [{ limit: 1 }] },
  async ({ step }) =>
    step.run("dispatch", async () => dispatchOutbox((await deps()).db, sendToInngest)),
);
