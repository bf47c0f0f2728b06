import { randomUUID } from "node:crypto";
import { type ApiKeyIdentity, verifyApiKey } from "../auth/api-keys";
import { recordAudit } from "../auth/audit";
import { type Role, roleAllows } from "../auth/roles";
import { BallastError, ForbiddenError, UnauthorizedError } from "../errors";
import { getRuntime, type Runtime } from "../runtime";
import { bearerToken } from "./authenticate";
import { errorResponse, json } from "./respond";

export interface AdminContext<P> {
  runtime: Runtime;
  key: ApiKeyIdentity;
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

/** Failed authentications allowed per client address per minute before 429. */
const AUTH_FAILURES_PER_MINUTE = 30;

/**
 * Wraps an admin route: Bearer API key (401), role (403), and an audit entry for every
 * attempt, allowed or not, with its outcome. Route files stay one line of intent.
 */
export function adminRoute<P = Record<string, never>>(
  options: AdminRouteOptions<P>,
  handler: (ctx: AdminContext<P>) => Promise<Response>,
): (request: Request, context: { params: Promise<P> }) => Promise<Response> {
  return async (request, context) => {
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
      key: ApiKeyIdentity | null,
      result: "ok" | "denied" | "error",
      status: number,
    ) =>
      recordAudit(runtime.db, {
        actor,
        actorKeyId: key?.id ?? null,
        action: options.action,
        target,
        result,
        status,
        details,
        requestId,
      }).catch((error) => runtime.log.error({ err: error, requestId }, "audit write failed"));

    const presented = bearerToken(request);
    const key = presented ? await verifyApiKey(runtime.db, presented).catch(() => null) : null;
    if (!key) {
      const client = clientAddress(request);
      const limiter = runtime.redis.rateLimiter("admin-auth-failures", {
        algorithm: "sliding-window",
        limit: AUTH_FAILURES_PER_MINUTE,
        windowMs: 60_000,
      });
      const verdict = await limiter.limit(client).catch(() => ({ allowed: true }));
      details.reason = presented
        ? "invalid or revoked key"
        : "missing Authorization: Bearer header";
      details.client = client;
      if (!verdict.allowed) {
        await audit("anonymous", null, "denied", 429);
        return json(
          {
            error: {
              code: "rate_limited",
              message: "too many failed authentications; retry later",
            },
          },
          429,
          {
            "retry-after": "60",
          },
        );
      }
      await audit("anonymous", null, "denied", 401);
      return errorResponse(new UnauthorizedError());
    }
    if (!roleAllows(key.role, options.role)) {
      details.reason = `role ${key.role} is below ${options.role}`;
      await audit(key.name, key, "denied", 403);
      return errorResponse(
        new ForbiddenError(`this action needs the ${options.role} role; the key has ${key.role}`),
      );
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
      return response;
    } catch (error) {
      const status = error instanceof BallastError ? error.status : 500;
      details.error = error instanceof BallastError ? error.code : "internal_error";
      await audit(key.name, key, "error", status);
      return errorResponse(error, runtime.log);
    }
  };
}

function clientAddress(request: Request): string {
  const forwarded = request.headers.get("x-forwarded-for")?.split(",")[0]?.trim();
  return forwarded || request.headers.get("x-real-ip") || "unknown";
}
