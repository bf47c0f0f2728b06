import { randomUUID } from "node:crypto";
import type { PipelineDeps } from "../pipeline/deps";
import { errorRecoveryWorkflow } from "./error-recovery";
import { requestedEventName } from "./events";
import { workflows } from "./index";
import { runInline } from "./inline";
import type { WorkflowEvent } from "./types";

export type RecoveryResult = Awaited<ReturnType<typeof errorRecoveryWorkflow.handler>>;

/**
 * One error-recovery run in this process (the CLI, tests): the workflow by the inline
 * executor, its re-driven syncs run inline as they are requested.
 */
export async function recoverLocally(
  deps: PipelineDeps,
  options: { requestedBy?: string; signal?: AbortSignal } = {},
): Promise<RecoveryResult> {
  const id = `recover:${randomUUID()}`;
  const outcome = await runInline(
    errorRecoveryWorkflow,
    {
      id,
      name: requestedEventName(errorRecoveryWorkflow.id),
      data: { requestedBy: options.requestedBy ?? "cli", correlationId: id },
    },
    { deps: async () => deps, log: deps.log, workflows, signal: options.signal },
  );
  if (!outcome.ok) throw outcome.error;
  return outcome.result as RecoveryResult;
}

/** Runs events (re-drives an operator asked for) inline, each with the workflows it triggers. */
export async function dispatchLocally(
  deps: PipelineDeps,
  events: WorkflowEvent[],
  signal?: AbortSignal,
): Promise<void> {
  const { triggerEvents } = await import("./define");
  for (const event of events)
    for (const wf of workflows)
      if (triggerEvents(wf).includes(event.name)) {
        const outcome = await runInline(wf, event, {
          deps: async () => deps,
          log: deps.log,
          workflows,
          signal,
        });
        if (!outcome.ok && outcome.invalid) throw outcome.error;
      }
}
