import { randomUUID } from "node:crypto";
import type { StepPort, WorkflowEvent } from "../workflows/types";
import { spanIdFor, traceIdFor } from "./ids";
import { summarize } from "./summary";
import { errorFields, runInSpan, type SpanContext, type Tracer } from "./tracer";

/**
 * Trace envelopes for every step of every workflow, whichever driver runs it: the step port a
 * workflow receives is wrapped here (lib/workflows/execute.ts `workflowContext`, used by the
 * Inngest bridge, the embedded runner and the inline executor alike). A step's work runs inside
 * its span, so the external calls it makes become its children.
 */
export interface StepTraceScope {
  workflow: string;
  driver: string;
  correlationId: string;
  event: Pick<WorkflowEvent<unknown>, "id" | "name" | "data">;
  /**
   * Identifies this execution of the function: Inngest's run id, the embedded runner's job and
   * attempt, a fresh id inline. Span ids are derived from it, the step and the attempt, so a
   * step replayed from memo (Inngest re-enters the function once per step) is recorded once.
   */
  executionId?: string;
  /** The function-level attempt (Inngest's `attempt` + 1); steps count their own retries on top. */
  attempt?: number;
  /** Await the write of each step's span before the step returns (serverless: Inngest). */
  flushEachStep?: boolean;
}

/** Lets a workflow say which run and source the spans that follow belong to. */
export interface StepTrace {
  readonly traceId: string;
  annotate(attributes: { runId?: string; sourceId?: string }): void;
}

function idField(data: unknown, field: string): string | null {
  const value = (data as Record<string, unknown> | null | undefined)?.[field];
  return typeof value === "string" ? value : null;
}

export function traceStepPort(
  step: StepPort,
  scope: StepTraceScope,
  tracerOf: () => Promise<Tracer | undefined>,
): { step: StepPort; trace: StepTrace } {
  const traceId = traceIdFor(scope.correlationId);
  const executionId =
    scope.executionId ?? `${scope.workflow}:${scope.event.id ?? ""}:${randomUUID()}`;
  const functionSpanId = spanIdFor("function", executionId);
  const baseAttempt = scope.attempt ?? 1;
  const annotations = {
    runId: idField(scope.event.data, "runId"),
    sourceId: idField(scope.event.data, "sourceId"),
  };
  const input = summarize(scope.event.data) as unknown as Record<string, unknown>;
  const tries = new Map<string, number>();

  const tracer = async (): Promise<Tracer | undefined> => {
    try {
      const found = await tracerOf();
      return found?.enabled ? found : undefined;
    } catch {
      return undefined; // the work reports the failure to reach the backends itself
    }
  };

  const context = (t: Tracer, spanId: string): SpanContext => ({
    tracer: t,
    traceId,
    spanId,
    correlationId: scope.correlationId,
    function: scope.workflow,
    driver: scope.driver,
    runId: annotations.runId,
    sourceId: annotations.sourceId,
    eventId: scope.event.id ?? null,
  });

  const record = (
    t: Tracer,
    ctx: SpanContext,
    op: string,
    id: string,
    attempt: number,
    startedAt: Date,
    started: number,
    outcome: { ok: true; value: unknown } | { ok: false; error: unknown },
    extra: Record<string, unknown> = {},
  ) => {
    t.record({
      spanId: ctx.spanId,
      traceId,
      parentSpanId: functionSpanId,
      correlationId: scope.correlationId,
      kind: "step",
      name: id,
      function: scope.workflow,
      driver: scope.driver,
      runId: ctx.runId,
      sourceId: ctx.sourceId,
      eventId: scope.event.id ?? null,
      attempt,
      status: outcome.ok ? "ok" : "error",
      ...(outcome.ok ? { errorClass: null, errorMessage: null } : errorFields(outcome.error)),
      startedAt,
      endedAt: new Date(),
      durationMs: performance.now() - started,
      input: op === "run" ? input : null,
      output: outcome.ok ? (summarize(outcome.value) as unknown as Record<string, unknown>) : null,
      attributes: { op, event: scope.event.name, ...extra },
    });
  };

  /** Runs `fn` as the span of a non-run step (sleep, send, wait), recorded once per execution. */
  const around = async <T>(
    op: string,
    id: string,
    fn: () => Promise<T>,
    extra: Record<string, unknown>,
  ): Promise<T> => {
    const t = await tracer();
    if (!t) return fn();
    const ctx = context(t, spanIdFor(executionId, op, id));
    const startedAt = new Date();
    const started = performance.now();
    try {
      const value = await fn();
      record(t, ctx, op, id, baseAttempt, startedAt, started, { ok: true, value }, extra);
      if (scope.flushEachStep) await t.flush();
      return value;
    } catch (error) {
      record(t, ctx, op, id, baseAttempt, startedAt, started, { ok: false, error }, extra);
      if (scope.flushEachStep) await t.flush();
      throw error;
    }
  };

  const traced: StepPort = {
    run: <T>(id: string, work: () => Promise<T>) =>
      step.run(id, async () => {
        const t = await tracer();
        if (!t) return work();
        const n = (tries.get(id) ?? 0) + 1;
        tries.set(id, n);
        const attempt = baseAttempt + n - 1;
        const ctx = context(t, spanIdFor(executionId, "run", id, attempt));
        const startedAt = new Date();
        const started = performance.now();
        try {
          const value = await runInSpan(ctx, work);
          record(t, ctx, "run", id, attempt, startedAt, started, { ok: true, value });
          if (scope.flushEachStep) await t.flush();
          return value;
        } catch (error) {
          record(t, ctx, "run", id, attempt, startedAt, started, { ok: false, error });
          if (scope.flushEachStep) await t.flush();
          throw error;
        }
      }),
    sleep: (id, ms) => around("sleep", id, () => step.sleep(id, ms), { ms }),
    sendEvents: (id, events) =>
      around("send", id, () => step.sendEvents(id, events), {
        events: events.length,
        names: [...new Set(events.map((e) => e.name))].slice(0, 10),
      }),
    waitForEvent: async (id, options) => {
      let found: WorkflowEvent | null = null;
      await around(
        "wait",
        id,
        async () => {
          found = await step.waitForEvent(id, options);
          return { matched: found !== null };
        },
        { waitsFor: options.event, timeoutMs: options.timeoutMs },
      );
      return found;
    },
  };
  return {
    step: traced,
    trace: {
      traceId,
      annotate(attributes) {
        if (attributes.runId) annotations.runId = attributes.runId;
        if (attributes.sourceId) annotations.sourceId = attributes.sourceId;
      },
    },
  };
}
