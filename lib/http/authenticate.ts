import { type ApiKeyIdentity, verifyApiKey } from "../auth/api-keys";
import { type Role, roleAllows } from "../auth/roles";
import { ForbiddenError, UnauthorizedError } from "../errors";
import type { Runtime } from "../runtime";

export function bearerToken(request: Request): string | null {
  const header = request.headers.get("authorization");
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/** The calling key, if it is valid and its role is high enough; throws 401 / 403 otherwise. */
export async function authenticate(
  runtime: Runtime,
  request: Request,
  role: Role,
): Promise<ApiKeyIdentity> {
  const presented = bearerToken(request);
  const key = presented ? await verifyApiKey(runtime.db, presented) : null;
  if (!key) throw new UnauthorizedError();
  if (!roleAllows(key.role, role))
    throw new ForbiddenError(`this needs the ${role} role; the key has ${key.role}`);
  return key;
}
