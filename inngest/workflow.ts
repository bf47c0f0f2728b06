import { NonRetriableError, RetryAfterError } from "inngest";
import { BallastError, errorMessage } from "../lib/errors";
import { pipelineDeps } from "../lib/pipeline/deps";
import { classifyError } from "../lib/resilience/retry";
import { getLogger, getRuntime } from "../lib/runtime";
import { runOnFailure, workflowContext } from "../lib/workflows/execute";
import type {
  StepPort,
  Workflow,
  WorkflowEnvironment,
  WorkflowEvent,
} from "../lib/workflows/types";
import { sendEvents } from "./send";

/**
 * The bridge between Inngest and the workflows of lib/workflows: Inngest's step tools as the
 * port they are written against, event validation at entry, and the retry policy.
 */

/** The pipeline's backends (built once per process), as workflows receive them. */
export const inngestEnvironment: WorkflowEnvironment = {
  deps: async () => pipelineDeps(await getRuntime()),
  dispatch: sendEvents,
  get log() {
    return getLogger();
  },
  driver: "inngest",
};

/**
 * How Inngest treats a failed step: bad input or a missing row is not retried; a Retry-After
 * (a provider's 429) is honoured; anything else is retried with Inngest's backoff.
 */
export async function withRetryPolicy<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toInngestError(error);
  }
}

/**
 * The one mapping of lib/resilience/retry.ts's classification to Inngest: permanent →
 * NonRetriableError; retryable with a known delay (Retry-After, an open breaker's retry time)
 * → RetryAfterError; other retryable errors pass through to Inngest's own backoff.
 */
export function toInngestError(error: unknown): unknown {
  const verdict = classifyError(error);
  if (!verdict.retryable) {
    const code = error instanceof BallastError ? error.code : verdict.errorClass;
    return new NonRetriableError(`${code}: ${errorMessage(error)}`, { cause: error });
  }
  const retryAfterMs = verdict.retryAfterMs;
  if (retryAfterMs !== undefined && retryAfterMs > 0)
    return new RetryAfterError(errorMessage(error), Math.ceil(retryAfterMs), { cause: error });
  return error;
}

/** A `data.<field> == "value"` expression for waitForEvent (values JSON-quoted). */
export function matchExpression(match: Record<string, string>): string {
  return Object.entries(match)
    .map(([field, value]) => `async.data.${field} == ${JSON.stringify(value)}`)
    .join(" && ");
}

interface InngestStep {
  run: (id: string, fn: () => Promise<unknown>) => Promise<unknown>;
  sleep: (id: string, ms: number) => Promise<void>;
  sendEvent: (id: string, events: WorkflowEvent[]) => Promise<unknown>;
  waitForEvent: (
    id: string,
    options: { event: string; timeout: number; if: string },
  ) => Promise<unknown>;
}

/** Inngest's step tools as the port lib/workflows are written against. */
export function stepPort(step: unknown): StepPort {
  const s = step as InngestStep;
  return {
    run: <T>(id: string, work: () => Promise<T>) =>
      s.run(id, () => withRetryPolicy(work)) as Promise<T>,
    sleep: (id, ms) => s.sleep(id, ms),
    sendEvents: async (id, events) => {
      if (events.length > 0) await s.sendEvent(id, events);
    },
    waitForEvent: async (id, options) =>
      (await s.waitForEvent(id, {
        event: options.event,
        timeout: options.timeoutMs,
        if: matchExpression(options.match),
      })) as WorkflowEvent | null,
  };
}

interface InngestEvent {
  id?: string;
  name: string;
  data: unknown;
  ts?: number;
}

/**
 * A function's body: the event's data is checked against the workflow's schema before any
 * step runs (invalid → NonRetriableError naming the fields, not echoing values), then the
 * workflow. Errors propagate: Inngest retries the step or the function, and calls onFailure
 * once retries are exhausted.
 */
export async function runWorkflow(
  workflow: Workflow,
  event: InngestEvent,
  step: unknown,
  run: InngestRunInfo = {},
) {
  let ctx: ReturnType<typeof workflowContext>;
  try {
    ctx = workflowContext(workflow, event, stepPort(step), inngestEnvironment, traceOf(run));
  } catch (error) {
    throw new NonRetriableError(`invalid event data for ${workflow.id}`, { cause: error });
  }
  return workflow.handler(ctx);
}

/** What Inngest tells a function about its run: the run id and the attempt (0-based). */
export interface InngestRunInfo {
  runId?: string;
  attempt?: number;
}

/**
 * Trace options of an Inngest execution: span ids from Inngest's run id, the step and the
 * attempt (a memoised step replays without recording again); each step's envelope is written
 * before the step returns, since a serverless invocation may end right after it.
 */
function traceOf(run: InngestRunInfo) {
  return {
    executionId: run.runId ? `inngest:${run.runId}` : undefined,
    attempt: (run.attempt ?? 0) + 1,
    flushEachStep: true,
  };
}

/** Inngest's onFailure: the workflow's own, with the failed run's original event. */
export async function runFailure(
  workflow: Workflow,
  failed: { data: { event: { id?: string; name: string; data?: unknown; ts?: number } } },
  error: Error,
  step: unknown,
  run: InngestRunInfo = {},
): Promise<void> {
  const original = failed.data.event;
  await runOnFailure(
    workflow,
    { id: original.id, name: original.name, data: original.data ?? {}, ts: original.ts },
    error,
    stepPort(step),
    inngestEnvironment,
    undefined,
    { ...traceOf(run), executionId: run.runId ? `inngest-failure:${run.runId}` : undefined },
  );
}

type ConcurrencyOption = { key?: string; limit: number };

/** Inngest concurrency options from the workflow's: a key names a field of the event's data. */
export function concurrencyOf(
  workflow: Workflow,
): [ConcurrencyOption] | [ConcurrencyOption, ConcurrencyOption] | undefined {
  const options = workflow.concurrency.map((c) =>
    c.key ? { key: `event.data.${c.key}`, limit: c.limit } : { limit: c.limit },
  );
  const [first, second] = options;
  if (!first) return undefined;
  return second ? [first, second] : [first];
}
