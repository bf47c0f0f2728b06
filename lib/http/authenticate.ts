import { type ApiKeyIdentity, verifyApiKey } from "../auth/api-keys";
import { type Role, roleAllows } from "../auth/roles";
import { verifySession } from "../auth/sessions";
import { ForbiddenError, TooManyRequestsError, UnauthorizedError } from "../errors";
import { enforceInbound, limitsOf } from "../limits/policies";
import type { Runtime } from "../runtime";
import { clientAddress, rateLimitKey } from "./client-address";
import { sessionTokenOf } from "./session-cookie";

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
 * Who calls: a Bearer API key (as always), or — without an Authorization header — the
 * console's session cookie. `via` says which; a session names the key it was made from
 * (`keyId`) or none (GitHub sign-in), and `id` is then the session's id.
 */
export interface CallerIdentity extends ApiKeyIdentity {
  via: "key" | "session";
  keyId: string | null;
  sessionId?: string;
}

/**
 * The caller, if its key or session is valid; 401 otherwise, and 429 once one address is over
 * the `auth-failures` policy (lib/limits/policies.ts: 30 a minute by default) (guessing keys or session tokens
 * is throttled on every route, the console's sign-in included).
 */
export async function identify(runtime: Runtime, request: Request): Promise<CallerIdentity> {
  const presented = bearerToken(request);
  const key = presented ? await verifyApiKey(runtime.db, presented) : null;
  if (key) return { ...key, via: "key", keyId: key.id };
  if (!presented && !request.headers.has("authorization")) {
    const token = sessionTokenOf(request, runtime.config.console);
    const session = token ? await verifySession(runtime.db, token) : null;
    if (session)
      return {
        id: session.keyId ?? session.sessionId,
        name: session.name,
        role: session.role,
        prefix: session.keyPrefix ?? "",
        via: "session",
        keyId: session.keyId,
        sessionId: session.sessionId,
      };
  }
  return countAuthFailure(runtime, request);
}

/**
 * Records one failed authentication from the caller's address; throws 429 once the address is
 * over the limit, 401 otherwise (the console's key sign-in uses the same budget).
 */
export async function countAuthFailure(runtime: Runtime, request: Request): Promise<never> {
  try {
    await enforceInbound(
      runtime.redis,
      "auth-failures",
      rateLimitKey(callerAddress(runtime, request)),
      limitsOf(runtime.config),
    );
  } catch (error) {
    if (error instanceof TooManyRequestsError)
      throw new TooManyRequestsError(
        "too many failed authentications; retry later",
        error.retryAfterSeconds,
        error.headers,
      );
    // The limiter's store did not answer: the caller still gets its 401.
  }
  throw new UnauthorizedError();
}

export function requireRole(key: ApiKeyIdentity & { via?: "key" | "session" }, role: Role): void {
  if (!roleAllows(key.role, role))
    throw new ForbiddenError(
      `this needs the ${role} role; the ${key.via === "session" ? "session" : "key"} has ${key.role}`,
    );
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
