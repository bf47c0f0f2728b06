import { type ApiKeyIdentity, verifyApiKey } from "../auth/api-keys";
import { type Role, roleAllows } from "../auth/roles";
import { ForbiddenError, TooManyRequestsError, UnauthorizedError } from "../errors";
import type { Runtime } from "../runtime";
import { clientAddress, rateLimitKey } from "./client-address";

/** Failed authentications allowed per client address per minute before 429. */
const AUTH_FAILURES_PER_MINUTE = 30;

export function bearerToken(request: Request): string | null {
  const header = request.headers.get("authorization");
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/** The calling client's address (see client-address.ts for whose headers are believed). */
export function callerAddress(runtime: Runtime, request: Request): string {
  return clientAddress(request, runtime.config.security.trustedProxies);
}

/**
 * The calling key, if valid; 401 otherwise, and 429 once one address has failed more than
 * AUTH_FAILURES_PER_MINUTE times in a minute (guessing keys is throttled on every route).
 */
export async function identify(runtime: Runtime, request: Request): Promise<ApiKeyIdentity> {
  const presented = bearerToken(request);
  const key = presented ? await verifyApiKey(runtime.db, presented) : null;
  if (key) return key;
  const limiter = runtime.redis.rateLimiter("admin-auth-failures", {
    algorithm: "sliding-window",
    limit: AUTH_FAILURES_PER_MINUTE,
    windowMs: 60_000,
  });
  const verdict = await limiter
    .limit(rateLimitKey(callerAddress(runtime, request)))
    .catch(() => ({ allowed: true }));
  if (!verdict.allowed)
    throw new TooManyRequestsError("too many failed authentications; retry later", 60);
  throw new UnauthorizedError();
}

export function requireRole(key: ApiKeyIdentity, role: Role): void {
  if (!roleAllows(key.role, role))
    throw new ForbiddenError(`this needs the ${role} role; the key has ${key.role}`);
}

/** The calling key, if it is valid and its role is high enough; throws 401 / 403 / 429 otherwise. */
export async function authenticate(
  runtime: Runtime,
  request: Request,
  role: Role,
): Promise<ApiKeyIdentity> {
  const key = await identify(runtime, request);
  requireRole(key, role);
  return key;
}
