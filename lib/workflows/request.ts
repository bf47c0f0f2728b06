import { randomUUID } from "node:crypto";
import type { Database } from "../../db/client";
import { NotFoundError, ValidationError } from "../errors";
import { enqueueEvents, type OutboxEvent } from "../outbox/outbox";
import { cronOf } from "./define";
import { requestedEventName } from "./events";
import { workflows } from "./index";

/** The scheduled workflows: id, cron, and what they do (from their doc comment's first line). */
export function scheduledWorkflows() {
  return workflows.flatMap((wf) => {
    const cron = cronOf(wf);
    return cron ? [{ id: wf.id, cron }] : [];
  });
}

/**
 * Runs a scheduled workflow now, for a given tick (default: now): the event
 * `workflow/<id>.requested`, recorded in the outbox like every other request. Only scheduled
 * workflows can be requested this way; the others start from their own events.
 */
export async function requestWorkflow(
  db: Database,
  workflowId: string,
  options: {
    at?: Date;
    requestedBy?: string;
    correlationId?: string;
    /** More of the event's data (a workflow's own request fields); checked against its schema. */
    data?: Record<string, unknown>;
  } = {},
): Promise<OutboxEvent> {
  const wf = workflows.find((w) => w.id === workflowId);
  if (!wf) throw new NotFoundError(`no workflow "${workflowId}"`);
  if (!cronOf(wf))
    throw new ValidationError(`${workflowId} is not a scheduled workflow; it runs on its events`, [
      { path: "workflow", message: "not scheduled" },
    ]);
  if (options.at && Number.isNaN(options.at.getTime()))
    throw new ValidationError("at is not a valid time", [{ path: "at", message: "invalid" }]);
  const id = `request:${workflowId}:${options.correlationId ?? randomUUID()}`;
  const event: OutboxEvent = {
    id,
    name: requestedEventName(workflowId),
    data: {
      ...(options.at ? { at: options.at.toISOString() } : {}),
      ...(options.requestedBy ? { requestedBy: options.requestedBy.slice(0, 200) } : {}),
      correlationId: options.correlationId ?? id,
      ...options.data,
    },
  };
  const checked = wf.schema.safeParse(event.data);
  if (!checked.success)
    throw new ValidationError(
      `the request does not match the data of ${workflowId}`,
      checked.error.issues.slice(0, 20).map((issue) => ({
        path: issue.path.map(String).join(".") || "(root)",
        message: issue.message,
      })),
    );
  await enqueueEvents(db, [event]);
  return event;
}
