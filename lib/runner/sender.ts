import type { Database } from "../../db/client";
import type { Config } from "../config";
import { eventApiSender } from "../outbox/event-api";
import type { EventSender } from "../outbox/outbox";
import { workflows } from "../workflows";
import { chooseRunner } from "./index";
import { insertJobs, jobsFor } from "./jobs";

/**
 * The outbox's sender for a process that does not run workflows itself (the CLI): when the
 * embedded runner runs them, the events become its jobs directly (the app's runner picks them
 * up within its poll interval); otherwise they go to Inngest's event API.
 */
export async function outboxSenderFor(config: Config, db: Database): Promise<EventSender> {
  const choice = await chooseRunner(config);
  if (choice.runner === "inngest") return eventApiSender(config.inngest);
  return async (events) => {
    await insertJobs(db, jobsFor(workflows, events, Date.now()));
  };
}
