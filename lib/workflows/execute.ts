import { BallastError, errorMessage } from "../errors";
import { observeStep } from "../metrics/registry";
import {
  backoffDelayMs,
  isRetryableError as isRetryable,
  retryAfterMsOf,
} from "../resilience/retry";
import { type StepTraceScope, traceStepPort } from "../traces/steps";
import { correlationOf, parseEventData } from "./define";
import type {
  StepPort,
  Workflow,
  WorkflowContext,
  WorkflowEnvironment,
  WorkflowEvent,
} from "./types";

/**
 * What the embedded runner and the inline executor share: run one workflow for one event with
 * a step port, validate its data first, and run its onFailure after a failure. (Inngest does
 * the same for the Inngest functions.)
 */

export interface StepBackoff {
  /** Delay before retry n (1-based) when the error carries no Retry-After. */
  delayMs(attempt: number): number;
  /** Longest Retry-After honoured in-process; longer ones fail the step (the job is retried later). */
  maxRetryAfterMs: number;
}

/** Exponential backoff with full jitter: 0..min(max, base·2^(n-1)). */
export function fullJitter(baseMs: number, maxMs: number, random = Math.random): StepBackoff {
  return {
    delayMs: (attempt) => backoffDelayMs(attempt, baseMs, maxMs, random),
    maxRetryAfterMs: 5 * 60_000,
  };
}

export function retryAfterOf(error: unknown): number | undefined {
  return retryAfterMsOf(error);
}

/** A step failed for good: its last error, after its retries (or at once for a permanent one). */
export class StepFailedError extends BallastError {
  constructor(
    readonly stepId: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(
      cause instanceof BallastError ? cause.code : "step_failed",
      errorMessage(cause),
      cause instanceof BallastError ? cause.status : 500,
      false,
      cause instanceof BallastError ? cause.issues : undefined,
      { cause },
    );
  }
}

export interface StepAttempt {
  workflow: string;
  step: string;
  attempt: number;
  durationMs: number;
  error?: unknown;
}

/**
 * Runs `work` with the workflow's step retries: retryable errors after a backoff (or the
 * error's Retry-After), permanent ones at once. The result is passed through JSON like an
 * Inngest step output, so a workflow cannot come to depend on values Inngest would not keep.
 */
export async function runStepWithRetries<T>(
  workflow: Pick<Workflow, "id" | "retries">,
  id: string,
  work: () => Promise<T>,
  options: {
    backoff: StepBackoff;
    sleep: (ms: number) => Promise<void>;
    signal?: AbortSignal;
    onAttempt?: (attempt: StepAttempt) => void;
  },
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    const started = performance.now();
    try {
      const result = await work();
      options.onAttempt?.({
        workflow: workflow.id,
        step: id,
        attempt,
        durationMs: performance.now() - started,
      });
      return result === undefined ? result : (JSON.parse(JSON.stringify(result)) as T);
    } catch (error) {
      options.onAttempt?.({
        workflow: workflow.id,
        step: id,
        attempt,
        durationMs: performance.now() - started,
        error,
      });
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      if (!isRetryable(error) || attempt > workflow.retries)
        throw new StepFailedError(id, attempt, error);
      const requested = retryAfterOf(error);
      if (requested !== undefined && requested > options.backoff.maxRetryAfterMs)
        throw new StepFailedError(id, attempt, error);
      await options.sleep(requested ?? options.backoff.delayMs(attempt));
    }
  }
}

export type WorkflowOutcome<R> =
  | { ok: true; result: R }
  | { ok: false; error: unknown; invalid: boolean; retry: boolean };

export interface ExecuteOptions {
  signal?: AbortSignal;
  /**
   * The caller retries the whole function after a retryable error thrown outside any step
   * (as Inngest does): then such an error returns `retry: true` without onFailure.
   */
  canRetry?: boolean;
  /** How the driver identifies this execution for its trace envelopes. */
  trace?: TraceOptions;
}

export type TraceOptions = Pick<StepTraceScope, "executionId" | "attempt" | "flushEachStep">;

/**
 * The step port with every step attempt timed into the step latency histogram
 * (ballast_workflow_step_duration_seconds). The timing wraps the work itself, which a driver
 * runs only when the step really executes: a step Inngest replays from its memo is not
 * observed again, and each retry is one observation.
 */
export function timedStepPort(step: StepPort, workflow: string): StepPort {
  return {
    run: <T>(id: string, work: () => Promise<T>) =>
      step.run(id, async () => {
        const started = performance.now();
        try {
          const value = await work();
          observeStep(workflow, id, true, (performance.now() - started) / 1000);
          return value;
        } catch (error) {
          observeStep(workflow, id, false, (performance.now() - started) / 1000);
          throw error;
        }
      }),
    sleep: (id, ms) => step.sleep(id, ms),
    sendEvents: (id, events) => step.sendEvents(id, events),
    waitForEvent: (id, options) => step.waitForEvent(id, options),
  };
}

/**
 * The context a workflow runs with, or a ValidationError when the event's data is invalid.
 * Its step port records a trace envelope and a latency observation for every step (every
 * driver — Inngest, the embedded runner, the inline executor — comes through here).
 */
export function workflowContext(
  wf: Workflow,
  event: WorkflowEvent<unknown>,
  step: StepPort,
  env: WorkflowEnvironment,
  trace: TraceOptions = {},
): WorkflowContext<unknown> {
  const data = parseEventData(wf, event);
  const correlationId = correlationOf(wf, { id: event.id, data });
  const traced = traceStepPort(
    timedStepPort(step, wf.id),
    {
      workflow: wf.id,
      driver: env.driver,
      correlationId,
      event: { id: event.id, name: event.name, data },
      ...trace,
    },
    async () => (await env.deps()).tracer,
  );
  return {
    event: { id: event.id, name: event.name, data, ts: event.ts },
    correlationId,
    step: traced.step,
    env,
    trace: traced.trace,
  };
}

/**
 * After a final failure: the workflow's onFailure, for a valid event only (an invalid one
 * caused nothing to clean up, and its values must not reach a query). Never throws but for
 * an abort.
 */
export async function runOnFailure(
  wf: Workflow,
  event: WorkflowEvent<unknown>,
  error: unknown,
  step: StepPort,
  env: WorkflowEnvironment,
  signal?: AbortSignal,
  trace?: TraceOptions,
): Promise<void> {
  if (!wf.onFailure) return;
  let ctx: WorkflowContext<unknown>;
  try {
    ctx = workflowContext(wf, event, step, env, trace);
  } catch {
    return;
  }
  try {
    await wf.onFailure({
      ...ctx,
      error: {
        name: error instanceof Error ? error.name : "Error",
        message: errorMessage(error),
        ...(error instanceof BallastError ? { code: error.code } : {}),
      },
    });
  } catch (failure) {
    if (signal?.aborted) throw signal.reason ?? failure;
    env.log.error(
      { workflow: wf.id, eventId: event.id, err: failure },
      "workflow onFailure failed",
    );
  }
}

/**
 * One execution of a workflow for an event: data validated (invalid → permanent failure,
 * no onFailure), handler run, onFailure run after a failure that is final. Never throws,
 * except when `signal` aborts.
 */
export async function executeWorkflow<R>(
  workflow: Workflow<never, R> | Workflow,
  event: WorkflowEvent<unknown>,
  step: StepPort,
  env: WorkflowEnvironment,
  options: ExecuteOptions = {},
): Promise<WorkflowOutcome<R>> {
  const { signal } = options;
  const wf = workflow as Workflow;
  let ctx: WorkflowContext<unknown>;
  try {
    ctx = workflowContext(wf, event, step, env, options.trace);
  } catch (error) {
    env.log.warn(
      { workflow: wf.id, eventId: event.id, issues: (error as BallastError).issues },
      "event rejected: its data does not match the workflow's schema",
    );
    return { ok: false, error, invalid: true, retry: false };
  }
  try {
    return { ok: true, result: (await wf.handler(ctx)) as R };
  } catch (error) {
    if (signal?.aborted) throw signal.reason ?? error;
    if (options.canRetry && !(error instanceof StepFailedError) && isRetryable(error)) {
      env.log.warn({ workflow: wf.id, eventId: event.id, err: error }, "workflow error; retrying");
      return { ok: false, error, invalid: false, retry: true };
    }
    env.log.warn({ workflow: wf.id, eventId: event.id, err: error }, "workflow failed");
    await runOnFailure(wf, event, error, step, env, signal, options.trace);
    return { ok: false, error, invalid: false, retry: false };
  }
}

export function matches(
  event: WorkflowEvent<unknown>,
  name: string,
  match: Record<string, string>,
) {
  if (event.name !== name) return false;
  const data = (event.data ?? {}) as Record<string, unknown>;
  return Object.entries(match).every(([key, value]) => String(data[key]) === value);
}
