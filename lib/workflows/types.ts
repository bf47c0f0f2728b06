import type { z } from "zod";
import type { Logger } from "../log/logger";
import type { EventSender } from "../outbox/outbox";
import type { PipelineDeps } from "../pipeline/deps";
import type { StepTrace } from "../traces/steps";

/**
 * A workflow is written once, here in lib/, against a small step port. Three drivers run it
 * with the same rules: the Inngest functions (inngest/functions/*, durable, in production),
 * the embedded runner (the app on the embedded defaults, no Inngest server), and the inline
 * executor (the CLI, in its own process). Each driver supplies the port.
 */

export interface WorkflowEvent<D = Record<string, unknown>> {
  /** Idempotency key: the same id is the same event (Inngest and the outbox deduplicate by it). */
  id?: string;
  name: string;
  data: D;
  /** Epoch ms: deliver no earlier than this (a staggered start). */
  ts?: number;
}

export interface WaitOptions {
  event: string;
  /** Every field must equal the event's `data` field. */
  match: Record<string, string>;
  timeoutMs: number;
}

export interface StepPort {
  /**
   * Runs `work` as one step: memoised by id (a replayed function does not run it again),
   * retried on retryable errors by the driver's policy. The result must survive JSON (dates
   * as strings): drivers serialise it.
   */
  run<T>(id: string, work: () => Promise<T>): Promise<T>;
  sleep(id: string, ms: number): Promise<void>;
  /** Sends events durably (each with its id, so a repeat is deduplicated). */
  sendEvents(id: string, events: WorkflowEvent[]): Promise<void>;
  /** The first matching event received after the wait began, or null at the timeout. */
  waitForEvent(id: string, options: WaitOptions): Promise<WorkflowEvent | null>;
}

/** What a workflow may use besides the step port: the pipeline's backends and an event sink. */
export interface WorkflowEnvironment {
  deps(): Promise<PipelineDeps>;
  /** Sends events outside a step's memo (the outbox flusher's sender). */
  dispatch: EventSender;
  log: Logger;
  /** Which driver runs this: shown in logs and health. */
  driver: "inngest" | "embedded" | "inline";
}

export interface WorkflowContext<D> {
  event: { id?: string; name: string; data: D; ts?: number };
  /** From the event, or the event id: ties together everything one cause did. */
  correlationId: string;
  step: StepPort;
  env: WorkflowEnvironment;
  /** This execution's trace: its id, and `annotate({ runId, sourceId })` for the spans that follow. */
  trace: StepTrace;
}

export interface FailureContext<D> extends WorkflowContext<D> {
  /** `code`: the BallastError's code, when the driver still has the error object. */
  error: { name: string; message: string; code?: string };
}

export interface Concurrency {
  /** A field of the event's data; omitted: one limit for every run of the function. */
  key?: string;
  limit: number;
}

export type Retries =
  | 0
  | 1
  | 2
  | 3
  | 4
  | 5
  | 6
  | 7
  | 8
  | 9
  | 10
  | 11
  | 12
  | 13
  | 14
  | 15
  | 16
  | 17
  | 18
  | 19
  | 20;

export type Trigger = { event: string } | { cron: string };

export interface Workflow<S extends z.ZodType = z.ZodType, R = unknown> {
  id: string;
  /** What starts it. A cron workflow also runs on `ballast/workflow.requested` for its id. */
  triggers: Trigger[];
  /** The data schema of the triggering event; checked before any step runs. */
  schema: S;
  concurrency: Concurrency[];
  /** Retries of each step after its first attempt (Inngest allows 0-20). */
  retries: Retries;
  handler(ctx: WorkflowContext<z.output<S>>): Promise<R>;
  /** After a step exhausted its retries, or a permanent error: leave the world consistent. */
  onFailure?(ctx: FailureContext<z.output<S>>): Promise<void>;
}
