import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { and, asc, eq, isNull, lt, or } from "drizzle-orm";
import type { Database } from "../../db/client";
import { apiKeys } from "../../db/schema";
import { NotFoundError, ValidationError } from "../errors";
import { assertRole, isRole, type Role } from "./roles";

/**
 * Admin API keys look like `blst_<prefix>_<secret>`: the prefix finds the row, the secret is
 * checked against a SHA-256 hash in constant time. Keys carry 256 bits of randomness, so a
 * fast hash is the right tool (a slow password hash protects low-entropy secrets).
 */
const KEY_PATTERN = /^blst_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export interface ApiKeyIdentity {
  id: string;
  name: string;
  role: Role;
  prefix: string;
}

export interface CreatedApiKey extends ApiKeyIdentity {
  /** The whole key. Shown once; only its hash is stored. */
  key: string;
}

function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export async function createApiKey(
  db: Database,
  input: { name: string; role: string; createdBy: string },
): Promise<CreatedApiKey> {
  const name = input.name.trim();
  if (name.length === 0 || name.length > 100)
    throw new ValidationError("key name must be 1-100 characters", [
      { path: "name", message: "length 1-100" },
    ]);
  assertRole(input.role);
  const prefix = randomBytes(9)
    .toString("base64url")
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "0")
    .slice(0, 12);
  const secret = randomBytes(32).toString("base64url");
  const [row] = await db
    .insert(apiKeys)
    .values({
      name,
      role: input.role,
      prefix,
      secretHash: hashSecret(secret),
      createdBy: input.createdBy,
    })
    .returning({ id: apiKeys.id });
  if (!row) throw new Error("api key insert returned no row");
  return { id: row.id, name, role: input.role, prefix, key: `blst_${prefix}_${secret}` };
}

/** The key's identity if it is well-formed, known, not revoked and its secret matches; else null. */
export async function verifyApiKey(
  db: Database,
  presented: string,
): Promise<ApiKeyIdentity | null> {
  const match = KEY_PATTERN.exec(presented);
  if (!match) return null;
  const [, prefix = "", secret = ""] = match;
  const [row] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.prefix, prefix), isNull(apiKeys.revokedAt)))
    .limit(1);
  const expected = Buffer.from(row?.secretHash ?? "0".repeat(64), "hex");
  const actual = Buffer.from(hashSecret(secret), "hex");
  const equal = timingSafeEqual(expected, actual);
  if (!row || !equal || !isRole(row.role)) return null;
  const staleBefore = new Date(Date.now() - 60_000);
  await db
    .update(apiKeys)
    .set({ lastUsedAt: new Date() })
    .where(
      and(
        eq(apiKeys.id, row.id),
        or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, staleBefore)),
      ),
    );
  return { id: row.id, name: row.name, role: row.role, prefix: row.prefix };
}

export async function listApiKeys(db: Database) {
  return db
    .select({
      id: apiKeys.id,
      name: apiKeys.name,
      prefix: apiKeys.prefix,
      role: apiKeys.role,
      createdBy: apiKeys.createdBy,
      createdAt: apiKeys.createdAt,
      lastUsedAt: apiKeys.lastUsedAt,
      revokedAt: apiKeys.revokedAt,
    })
    .from(apiKeys)
    .orderBy(asc(apiKeys.createdAt));
}

/** Revokes by id or prefix. */
export async function revokeApiKey(db: Database, idPrefixOrKey: string): Promise<ApiKeyIdentity> {
  // The whole key or its `blst_<prefix>` head work too: that is what the operator holds.
  const idOrPrefix = /^blst_([a-z0-9]{12})(_|$)/.exec(idPrefixOrKey)?.[1] ?? idPrefixOrKey;
  const isUuid = /^[0-9a-f-]{36}$/i.test(idOrPrefix);
  const [row] = await db
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(
      and(
        isUuid ? eq(apiKeys.id, idOrPrefix) : eq(apiKeys.prefix, idOrPrefix),
        isNull(apiKeys.revokedAt),
      ),
    )
    .returning();
  if (!row || !isRole(row.role)) throw new NotFoundError(`no active API key ${idOrPrefix}`);
  return { id: row.id, name: row.name, role: row.role, prefix: row.prefix };
}

export async function countActiveAdminKeys(db: Database): Promise<number> {
  const rows = await db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(and(eq(apiKeys.role, "admin"), isNull(apiKeys.revokedAt)));
  return rows.length;
}
