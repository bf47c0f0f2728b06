import { createHash, randomBytes } from "node:crypto";
import { and, desc, eq, gt, isNull, lt, or } from "drizzle-orm";
import type { Database } from "../../db/client";
import { apiKeys, sessions } from "../../db/schema";
import { NotFoundError } from "../errors";
import { isRole, type Role } from "./roles";

/**
 * Console sessions (db/schema/sessions.ts). The token is 256 random bits, sent to the browser
 * once in a cookie; the table holds its SHA-256, so a copy of the database signs nobody in.
 * A session ends at its expiry, when revoked, or — for one made from an API key — when that
 * key is revoked.
 */
export const SESSION_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** last_seen_at is written at most this often per session. */
const TOUCH_EVERY_MS = 60_000;

export type SessionSubject =
  | { kind: "key"; keyId: string; role: Role }
  | { kind: "github"; login: string; githubId: number; role: Role };

export interface SessionIdentity {
  sessionId: string;
  kind: "key" | "github";
  /** Who acts: the key's name, or `github:<login>`. */
  name: string;
  role: Role;
  keyId: string | null;
  keyPrefix: string | null;
  expiresAt: Date;
}

export function hashSessionToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export async function createSession(
  db: Database,
  subject: SessionSubject,
  options: { ttlMs: number; client?: string; userAgent?: string | null; now?: Date },
): Promise<{ token: string; id: string; expiresAt: Date }> {
  const token = randomBytes(32).toString("base64url");
  const now = options.now ?? new Date();
  const expiresAt = new Date(now.getTime() + options.ttlMs);
  const [row] = await db
    .insert(sessions)
    .values({
      tokenHash: hashSessionToken(token),
      kind: subject.kind,
      keyId: subject.kind === "key" ? subject.keyId : null,
      githubLogin: subject.kind === "github" ? subject.login : null,
      githubId: subject.kind === "github" ? subject.githubId : null,
      role: subject.role,
      createdAt: now,
      lastSeenAt: now,
      expiresAt,
      client: options.client?.slice(0, 100) ?? null,
      userAgent: options.userAgent?.slice(0, 300) ?? null,
    })
    .returning({ id: sessions.id });
  if (!row) throw new Error("session insert returned no row");
  return { token, id: row.id, expiresAt };
}

/** The session a token names, if it is live (not expired, not revoked, its key not revoked). */
export async function verifySession(
  db: Database,
  token: string,
  now = new Date(),
): Promise<SessionIdentity | null> {
  if (!SESSION_TOKEN_PATTERN.test(token)) return null;
  const [row] = await db
    .select({
      session: sessions,
      keyName: apiKeys.name,
      keyPrefix: apiKeys.prefix,
      keyRole: apiKeys.role,
    })
    .from(sessions)
    .leftJoin(apiKeys, eq(apiKeys.id, sessions.keyId))
    .where(
      and(
        eq(sessions.tokenHash, hashSessionToken(token)),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, now),
        or(eq(sessions.kind, "github"), isNull(apiKeys.revokedAt)),
      ),
    )
    .limit(1);
  if (!row) return null;
  const { session } = row;
  if (session.kind === "key" && !row.keyName) return null;
  // A key session holds the key's role as it was at sign-in, never more than the key has now.
  const role =
    session.kind === "key" && row.keyRole && isRole(row.keyRole)
      ? lower(session.role, row.keyRole)
      : session.role;
  if (!isRole(role)) return null;
  if (now.getTime() - session.lastSeenAt.getTime() > TOUCH_EVERY_MS)
    await db
      .update(sessions)
      .set({ lastSeenAt: now })
      .where(
        and(
          eq(sessions.id, session.id),
          lt(sessions.lastSeenAt, new Date(now.getTime() - TOUCH_EVERY_MS)),
        ),
      );
  return {
    sessionId: session.id,
    kind: session.kind,
    name: session.kind === "key" ? (row.keyName ?? "key") : `github:${session.githubLogin}`,
    role,
    keyId: session.keyId,
    keyPrefix: row.keyPrefix ?? null,
    expiresAt: session.expiresAt,
  };
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
function lower(a: Role, b: Role): Role {
  return RANK[a] <= RANK[b] ? a : b;
}

/** Ends the session a token names (sign-out); true when one was live. */
export async function endSession(db: Database, token: string): Promise<boolean> {
  if (!SESSION_TOKEN_PATTERN.test(token)) return false;
  const rows = await db
    .update(sessions)
    .set({ revokedAt: new Date() })
    .where(and(eq(sessions.tokenHash, hashSessionToken(token)), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  return rows.length > 0;
}

/** Revokes a session by id (an admin in the console). */
export async function revokeSession(db: Database, id: string): Promise<void> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: new Date() })
    .where(and(eq(sessions.id, id), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  if (rows.length === 0) throw new NotFoundError(`no live session ${id}`);
}

/** Live sessions, newest first, with who holds them (never the token or its hash). */
export async function listLiveSessions(db: Database, now = new Date()) {
  const rows = await db
    .select({
      id: sessions.id,
      kind: sessions.kind,
      githubLogin: sessions.githubLogin,
      keyName: apiKeys.name,
      keyPrefix: apiKeys.prefix,
      role: sessions.role,
      createdAt: sessions.createdAt,
      lastSeenAt: sessions.lastSeenAt,
      expiresAt: sessions.expiresAt,
      client: sessions.client,
      userAgent: sessions.userAgent,
    })
    .from(sessions)
    .leftJoin(apiKeys, eq(apiKeys.id, sessions.keyId))
    .where(
      and(
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, now),
        or(eq(sessions.kind, "github"), isNull(apiKeys.revokedAt)),
      ),
    )
    .orderBy(desc(sessions.createdAt))
    .limit(200);
  return rows;
}

/** Deletes sessions that ended more than a day ago; returns how many. */
export async function pruneSessions(db: Database, now = new Date()): Promise<number> {
  const before = new Date(now.getTime() - 24 * 3600_000);
  const rows = await db
    .delete(sessions)
    .where(or(lt(sessions.expiresAt, before), lt(sessions.revokedAt, before)))
    .returning({ id: sessions.id });
  return rows.length;
}
