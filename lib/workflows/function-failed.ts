import { errorMessage } from "../errors";
import { FUNCTION_FAILED, type FunctionFailedData } from "./events";
import type { Workflow, WorkflowEvent } from "./types";

/**
 * What Inngest sends after a function's final failure (`inngest/function.failed`), built by
 * the drivers that are not Inngest (the embedded runner) so that error-recovery records the
 * failure — dead-letter entry, `sync.failed` alert — whichever driver ran the workflow.
 * The id is derived from the execution, so a driver that emits it twice makes one job.
 * error-recovery's own failures emit nothing (as a loop guard: it would handle its own).
 */
export function functionFailedEvent(
  workflow: Pick<Workflow, "id">,
  event: WorkflowEvent<unknown>,
  error: unknown,
  options: { appId: string; runId: string },
): WorkflowEvent<FunctionFailedData> | null {
  if (workflow.id === "error-recovery" || event.name === FUNCTION_FAILED) return null;
  const data = event.data;
  return {
    id: `function-failed:${options.runId}`,
    name: FUNCTION_FAILED,
    data: {
      function_id: `${options.appId}-${workflow.id}`,
      run_id: options.runId.slice(0, 100),
      error: {
        name: (error instanceof Error ? error.name : "Error").slice(0, 200),
        message: errorMessage(error).slice(0, 20_000),
      },
      event: {
        ...(event.id ? { id: event.id.slice(0, 300) } : {}),
        name: event.name,
        data:
          data && typeof data === "object" && !Array.isArray(data)
            ? (data as Record<string, unknown>)
            : {},
        ...(event.ts !== undefined ? { ts: event.ts } : {}),
      },
    },
  };
}
