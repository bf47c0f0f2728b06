import { randomUUID } from "node:crypto";
import { recordAudit, recordDenial } from "../auth/audit";
import type { Role } from "../auth/roles";
import { BallastError } from "../errors";
import { recordInboundEvent } from "../ledger/pipeline";
import { enforceInbound, limitsOf, withHeaders } from "../limits/policies";
import { observeHttpRequest } from "../metrics/registry";
import { getRuntime, type Runtime } from "../runtime";
import {
  bearerToken,
  type CallerIdentity,
  callerAddress,
  identify,
  requireRole,
} from "./authenticate";
import { rateLimitKey } from "./client-address";
import { checkSameOrigin, isSafeMethod } from "./csrf";
import { errorResponse } from "./respond";

export interface AdminContext<P> {
  runtime: Runtime;
  /** The caller: a Bearer key, or a console session (`via: "session"`). */
  key: CallerIdentity;
  request: Request;
  params: P;
  requestId: string;
  /** Adds details to this request's audit entry (never secrets). */
  note(details: Record<string, unknown>): void;
}

export interface AdminRouteOptions<P> {
  role: Role;
  /** Audit action name, e.g. "config.read". */
  action: string;
  target?: (params: P) => string;
}

/**
 * Wraps an admin route: Bearer API key or console session cookie (401, 429 after repeated
 * failures), the same-origin check for a session's state-changing request (403 csrf_failed),
 * role (403), and an audit entry for every attempt, allowed or not, with its outcome. Route
 * files stay one line of intent.
 */
export function adminRoute<P = Record<string, never>>(
  options: AdminRouteOptions<P>,
  handler: (ctx: AdminContext<P>) => Promise<Response>,
): (request: Request, context: { params: Promise<P> }) => Promise<Response> {
  const handle = async (request: Request, context: { params: Promise<P> }): Promise<Response> => {
    const requestId = request.headers.get("x-request-id") ?? randomUUID();
    let runtime: Runtime;
    try {
      runtime = await getRuntime();
    } catch (error) {
      return errorResponse(error);
    }
    const params = (await context?.params) ?? ({} as P);
    const target = options.target?.(params) ?? null;
    const details: Record<string, unknown> = { method: request.method };
    const audit = (
      actor: string,
      key: CallerIdentity | null,
      result: "ok" | "denied" | "error",
      status: number,
    ) =>
      recordAudit(runtime.db, {
        actor,
        actorKeyId: key ? key.keyId : null,
        action: options.action,
        target,
        result,
        status,
        details,
        requestId,
      }).catch((error) => runtime.log.error({ err: error, requestId }, "audit write failed"));

    let key: CallerIdentity;
    try {
      key = await identify(runtime, request);
    } catch (error) {
      // Not a refusal (the database did not answer, say): report it as it is, not as a 401.
      if (!(error instanceof BallastError) || (error.status !== 401 && error.status !== 429))
        return errorResponse(error, runtime.log);
      details.reason = bearerToken(request)
        ? "invalid or revoked key"
        : "missing Authorization: Bearer header";
      const client = callerAddress(runtime, request);
      details.client = client;
      // Aggregated per client and minute: an anonymous client cannot grow the log without bound.
      await recordDenial(runtime.db, runtime.redis.kv("audit"), rateLimitKey(client), {
        actor: "anonymous",
        actorKeyId: null,
        action: options.action,
        target,
        result: "denied",
        status: error.status,
        details,
        requestId,
      }).catch((failure) => runtime.log.error({ err: failure, requestId }, "audit write failed"));
      return errorResponse(error);
    }
    if (key.via === "session") {
      details.via = "session";
      if (!isSafeMethod(request.method)) {
        try {
          checkSameOrigin(
            request.headers,
            request.url,
            runtime.config.console,
            runtime.config.security.trustedProxies,
          );
        } catch (error) {
          details.reason = (error as Error).message;
          await audit(key.name, key, "denied", 403);
          return errorResponse(error);
        }
      }
    }
    let limitHeaders: Record<string, string>;
    try {
      limitHeaders = await enforceInbound(
        runtime.redis,
        "admin",
        `key:${key.id}`,
        limitsOf(runtime.config),
      );
    } catch (error) {
      details.reason = "rate limited";
      await audit(key.name, key, "denied", error instanceof BallastError ? error.status : 500);
      return errorResponse(error, runtime.log);
    }
    try {
      requireRole(key, options.role);
    } catch (error) {
      details.reason = `role ${key.role} is below ${options.role}`;
      await audit(key.name, key, "denied", 403);
      return errorResponse(error);
    }
    try {
      const response = await handler({
        runtime,
        key,
        request,
        params,
        requestId,
        note: (extra) => Object.assign(details, extra),
      });
      await audit(key.name, key, response.status < 400 ? "ok" : "error", response.status);
      if (!isSafeMethod(request.method) && response.status < 400)
        await recordAdminRequest(runtime, options.action, target, request.method, requestId, {
          status: response.status,
          role: key.role,
          details,
        });
      return withHeaders(response, limitHeaders);
    } catch (error) {
      const status = error instanceof BallastError ? error.status : 500;
      details.error = error instanceof BallastError ? error.code : "internal_error";
      await audit(key.name, key, "error", status);
      return errorResponse(error, runtime.log);
    }
  };
  return async (request, context) => {
    const started = performance.now();
    const response = await handle(request, context);
    observeHttpRequest(
      `admin:${options.action}`,
      request.method,
      response.status,
      (performance.now() - started) / 1000,
    );
    return response;
  };
}

/**
 * A state-changing admin request in the parity ledger (an inbound event: what an operator
 * asked for, by correlation id `admin:<request id>`, as the runs it requests carry). Never
 * fails the request.
 */
async function recordAdminRequest(
  runtime: Runtime,
  action: string,
  target: string | null,
  method: string,
  requestId: string,
  extra: { status: number; role: string; details: Record<string, unknown> },
): Promise<void> {
  const id = requestId.slice(0, 200);
  await recordInboundEvent(
    runtime.db,
    {
      id: `admin:${id}`,
      name: "admin.request",
      correlationId: `admin:${id}`,
      data: {
        action,
        target,
        method,
        status: extra.status,
        role: extra.role,
        ...(typeof extra.details.runId === "string" ? { runs: [extra.details.runId] } : {}),
      },
    },
    { enabled: runtime.config.ledger.enabled, secrets: runtime.config.secrets },
  ).catch((error) => runtime.log.error({ err: error, requestId }, "ledger write failed"));
}
