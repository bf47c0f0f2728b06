import { randomUUID } from "node:crypto";
import { ZodError } from "zod";
import { recordAudit } from "../auth/audit";
import type { Role } from "../auth/roles";
import { verifySession } from "../auth/sessions";
import { BallastError, errorMessage } from "../errors";
import { getRuntime, type Runtime } from "../runtime";
import { type CallerIdentity, requireRole } from "./authenticate";
import { checkSameOrigin } from "./csrf";
import { sessionTokenOf } from "./session-cookie";

/**
 * The console's form actions (Next.js server actions call this with the request's headers):
 * the session cookie (no session → "signed out", the page sends the operator to sign in and
 * back), the same-origin check, the role, then the work, with an audit entry for every
 * attempt. Nothing runs when any check fails. Errors come back as data for the form: a
 * message, and per-field messages for a validation error.
 */

export type ActionResult<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      status: number;
      code: string;
      message: string;
      /** Field name → message, for errors shown beside their field. */
      fields: Record<string, string>;
    };

export interface ConsoleActionOptions {
  role: Role;
  /** Audit action name, e.g. "sources.add". */
  action: string;
  target?: string;
}

export interface ConsoleActionContext {
  runtime: Runtime;
  caller: CallerIdentity;
  requestId: string;
  note(details: Record<string, unknown>): void;
}

export function failure(error: unknown): Extract<ActionResult<never>, { ok: false }> {
  if (error instanceof ZodError) {
    const fields: Record<string, string> = {};
    for (const issue of error.issues) {
      const path = issue.path.join(".") || "form";
      fields[path.split(".")[0] ?? path] ??= issue.message;
    }
    return {
      ok: false,
      status: 422,
      code: "validation_failed",
      message: "check the highlighted fields",
      fields,
    };
  }
  if (error instanceof BallastError) {
    const fields: Record<string, string> = {};
    for (const issue of error.issues ?? []) {
      const name = issue.path.split(".")[0] || "form";
      fields[name] ??=
        issue.message === "invalid" || issue.message === "not normalised"
          ? error.message
          : issue.message;
    }
    if (error.status === 422 && Object.keys(fields).length === 0) fields.form = error.message;
    return { ok: false, status: error.status, code: error.code, message: error.message, fields };
  }
  return {
    ok: false,
    status: 500,
    code: "internal_error",
    message: "internal error; the server log says more",
    fields: {},
  };
}

export async function runConsoleAction<T>(
  request: Request,
  options: ConsoleActionOptions,
  handler: (ctx: ConsoleActionContext) => Promise<T>,
): Promise<ActionResult<T>> {
  let runtime: Runtime;
  try {
    runtime = await getRuntime();
  } catch (error) {
    return failure(error);
  }
  const requestId = request.headers.get("x-request-id") ?? randomUUID();
  const details: Record<string, unknown> = { method: "action", via: "session" };
  const write = (
    caller: CallerIdentity | null,
    result: "ok" | "denied" | "error",
    status: number,
  ) =>
    recordAudit(runtime.db, {
      actor: caller?.name ?? "anonymous",
      actorKeyId: caller?.keyId ?? null,
      action: options.action,
      target: options.target ?? null,
      result,
      status,
      details,
      requestId,
    }).catch((error) => runtime.log.error({ err: error, requestId }, "audit write failed"));

  try {
    checkSameOrigin(
      request.headers,
      request.url,
      runtime.config.console,
      runtime.config.security.trustedProxies,
    );
  } catch (error) {
    details.reason = errorMessage(error);
    await write(null, "denied", 403);
    return failure(error);
  }
  const token = sessionTokenOf(request, runtime.config.console);
  const session = token ? await verifySession(runtime.db, token).catch(() => null) : null;
  if (!session) {
    return {
      ok: false,
      status: 401,
      code: "signed_out",
      message: "your session has ended; sign in again",
      fields: {},
    };
  }
  const caller: CallerIdentity = {
    id: session.keyId ?? session.sessionId,
    name: session.name,
    role: session.role,
    prefix: session.keyPrefix ?? "",
    via: "session",
    keyId: session.keyId,
    sessionId: session.sessionId,
  };
  try {
    requireRole(caller, options.role);
  } catch (error) {
    details.reason = `role ${caller.role} is below ${options.role}`;
    await write(caller, "denied", 403);
    return failure(error);
  }
  try {
    const value = await handler({
      runtime,
      caller,
      requestId,
      note: (extra) => Object.assign(details, extra),
    });
    await write(caller, "ok", 200);
    return { ok: true, value };
  } catch (error) {
    const result = failure(error);
    details.error = result.code;
    if (result.status >= 500) runtime.log.error({ err: error, requestId }, "console action failed");
    await write(caller, "error", result.status);
    return result;
  }
}
