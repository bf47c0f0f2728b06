import type { Logger } from "../log/logger";
import type { EventSender } from "../outbox/outbox";
import type { PipelineDeps } from "../pipeline/deps";
import { triggerEvents } from "./define";
import {
  executeWorkflow,
  fullJitter,
  matches,
  runStepWithRetries,
  type StepAttempt,
  type StepBackoff,
  type WorkflowOutcome,
} from "./execute";
import type { StepPort, Workflow, WorkflowEnvironment, WorkflowEvent } from "./types";

/**
 * The inline executor: runs a workflow to the end in this process, and every workflow its
 * events trigger right where they are sent (a sync's batches run one after another inside its
 * fan-out step). No queue, no server: the CLI's driver. The rules are the workflow's own,
 * so the CLI behaves as Inngest and the embedded runner do; only time is compressed — a wait
 * for an event returns what was already sent (nested runs have finished by then).
 */
export interface InlineOptions {
  deps: () => Promise<PipelineDeps>;
  log: Logger;
  /** Where events go besides the workflows here: the outbox flusher's sender. */
  dispatch?: EventSender;
  /** The workflows that may be triggered by sent events. */
  workflows: Workflow[];
  signal?: AbortSignal;
  backoff?: StepBackoff;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Before and after each step attempt (progress, traces). */
  onStepStart?(info: { workflow: string; step: string }): void;
  onStep?(info: StepAttempt & { result?: unknown }): void;
  onSleep?(info: { workflow: string; step: string; ms: number }): void;
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export async function runInline<R>(
  workflow: Workflow<never, R> | Workflow,
  event: WorkflowEvent<unknown>,
  options: InlineOptions,
): Promise<WorkflowOutcome<R>> {
  const emitted: WorkflowEvent[] = [];
  const backoff = options.backoff ?? fullJitter(500, 10_000);
  const sleep = (ms: number) => (options.sleep ?? abortableSleep)(ms, options.signal);
  const env: WorkflowEnvironment = {
    deps: options.deps,
    log: options.log,
    driver: "inline",
    dispatch: options.dispatch ?? (async () => {}),
  };

  const execute = (wf: Workflow, e: WorkflowEvent<unknown>) => {
    const step: StepPort = {
      run: async <T>(id: string, work: () => Promise<T>) => {
        options.onStepStart?.({ workflow: wf.id, step: id });
        let last: unknown;
        const result = await runStepWithRetries<T>(
          wf,
          id,
          async () => {
            const value = await work();
            last = value;
            return value;
          },
          {
            backoff,
            sleep,
            signal: options.signal,
            onAttempt: (attempt) =>
              options.onStep?.({ ...attempt, ...(attempt.error ? {} : { result: last }) }),
          },
        );
        return result;
      },
      sleep: async (id, ms) => {
        options.onSleep?.({ workflow: wf.id, step: id, ms });
        await sleep(ms);
      },
      sendEvents: async (_id, events) => {
        for (const sent of events) {
          options.signal?.throwIfAborted();
          emitted.push(sent);
          for (const target of options.workflows)
            if (triggerEvents(target).includes(sent.name)) await execute(target, sent);
        }
      },
      waitForEvent: async (_id, wait) =>
        emitted.find((candidate) => matches(candidate, wait.event, wait.match)) ?? null,
    };
    return executeWorkflow(wf, e, step, env, { signal: options.signal });
  };
  return execute(workflow as Workflow, event) as Promise<WorkflowOutcome<R>>;
}
