import { headers } from "next/headers";
import {
  type ActionResult,
  type ConsoleActionContext,
  type ConsoleActionOptions,
  runConsoleAction,
} from "../../lib/http/console-action";
import { PATH_HEADER } from "./session";

export type { ActionResult } from "../../lib/http/console-action";

/** What a form's action returns to the form (useActionState): the outcome, and the form's values. */
export type FormState<T> = (ActionResult<T> & { values?: Record<string, string> }) | null;

/**
 * Runs a server action through lib/http/console-action.ts (session, same-origin check, role,
 * audit) with this request's headers.
 */
export async function consoleAction<T>(
  options: ConsoleActionOptions,
  handler: (ctx: ConsoleActionContext) => Promise<T>,
): Promise<ActionResult<T>> {
  const incoming = await headers();
  const host = incoming.get("host") ?? "localhost";
  const path = incoming.get(PATH_HEADER) ?? "/";
  const request = new Request(`http://${host}${path.startsWith("/") ? path : "/"}`, {
    method: "POST",
    headers: incoming,
  });
  return runConsoleAction(request, options, handler);
}

/** A form's text fields (File entries ignored), for re-filling the form after an error. */
export function formValues(form: FormData): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of form.entries())
    if (typeof value === "string" && !name.startsWith("$")) values[name] = value;
  return values;
}
