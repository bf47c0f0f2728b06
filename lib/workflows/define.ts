import type { z } from "zod";
import { ValidationError } from "../errors";
import { requestedEventName, type TickData } from "./events";
import type { Workflow, WorkflowEvent } from "./types";

/** Declares a workflow (typed handler context from its schema). */
export function defineWorkflow<S extends z.ZodType, R>(workflow: Workflow<S, R>): Workflow<S, R> {
  if (workflow.concurrency.length > 2)
    throw new Error(`${workflow.id}: at most two concurrency limits (Inngest's own limit)`);
  return workflow;
}

/**
 * Checks a triggering event's data against the workflow's schema before any step runs.
 * Invalid data is a permanent failure (ValidationError is not retryable): the issues name
 * fields, never echo values, so nothing an attacker sent comes back in a response or log.
 */
export function parseEventData<S extends z.ZodType>(
  workflow: Workflow<S>,
  event: Pick<WorkflowEvent<unknown>, "name" | "data">,
): z.output<S> {
  const parsed = workflow.schema.safeParse(event.data ?? {});
  if (parsed.success) return parsed.data;
  throw new ValidationError(
    `event ${event.name} does not match the data schema of ${workflow.id}`,
    parsed.error.issues.slice(0, 20).map((issue) => ({
      path: issue.path.map(String).join(".") || "(root)",
      message: issue.message,
    })),
  );
}

/** The correlation id of an event: its own, else its id, else a key made from the workflow. */
export function correlationOf(
  workflow: Pick<Workflow, "id">,
  event: Pick<WorkflowEvent<unknown>, "id" | "data">,
): string {
  const own = (event.data as { correlationId?: unknown } | undefined)?.correlationId;
  if (typeof own === "string" && own.length > 0) return own;
  return event.id ?? `${workflow.id}:${Date.now()}`;
}

/** The names of the events that start a workflow (its cron workflows' on-request event included). */
export function triggerEvents(workflow: Workflow): string[] {
  const names = workflow.triggers.flatMap((t) => ("event" in t ? [t.event] : []));
  if (workflow.triggers.some((t) => "cron" in t)) names.push(requestedEventName(workflow.id));
  return names;
}

export function cronOf(workflow: Workflow): string | undefined {
  for (const t of workflow.triggers) if ("cron" in t) return t.cron;
  return undefined;
}

/** The minute a scheduled run acts for: the requested tick, else the event's time, else now. */
export function tickOf(data: TickData, eventTs: number | undefined): Date {
  const at = "at" in data && data.at ? Date.parse(data.at) : (eventTs ?? Date.now());
  const tick = new Date(at);
  tick.setUTCSeconds(0, 0);
  return tick;
}

/** `event.data.<field>` of a concurrency key, as a string (undefined when absent). */
export function concurrencyKeyOf(data: unknown, field: string | undefined): string {
  if (!field) return "*";
  const value = (data as Record<string, unknown> | undefined)?.[field];
  return value === undefined || value === null ? "" : String(value);
}

/**
 * The class and dependency of a final failure as onFailure sees it (name, message and, from
 * the embedded drivers, the error's code): for the dead-letter entry.
 */
export function classifyFailure(error: { name: string; message: string; code?: string }): {
  errorClass: string;
  dependency?: string;
} {
  const breaker = /^(\S+) is unavailable \(circuit breaker open\)/.exec(error.message);
  if (error.code === "breaker_open" || breaker)
    return { errorClass: "breaker_open", dependency: breaker?.[1] };
  const provider = /^(openai|cohere) embeddings request (timed out|failed: HTTP (\d+))?/.exec(
    error.message,
  );
  if (provider) {
    const status = Number(provider[3] ?? 0);
    return {
      errorClass: provider[2]?.startsWith("timed")
        ? "timeout"
        : status === 429
          ? "rate_limited"
          : status >= 500
            ? "server"
            : status > 0
              ? "client"
              : "network",
      dependency: `embedding:${provider[1]}`,
    };
  }
  if (error.code === "redis_required" || error.code === "redis_unavailable")
    return { errorClass: "unavailable", dependency: "redis" };
  if (/github/i.test(error.message)) return { errorClass: "unavailable", dependency: "github" };
  return { errorClass: error.code ?? "internal" };
}
