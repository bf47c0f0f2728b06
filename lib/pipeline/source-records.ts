import { and, asc, eq, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { documents, sources } from "../../db/schema";
import { ConflictError, NotFoundError, ValidationError } from "../errors";
import { redactLocation } from "../security/redact";
import { validateGlobs } from "../sources/filter";
import { parseSourceArgument } from "../sources/parse";
import type { SourceLocation } from "../sources/types";

export type SourceRecord = typeof sources.$inferSelect;

/** A new source as a user gives it (admin API body, CLI arguments). */
export interface SourceInput {
  location: string;
  name?: string;
  branch?: string;
  include?: string[];
  exclude?: string[];
  maxFileBytes?: number;
}

/** A new source with its location already parsed (parseNewSource makes one from user input). */
export interface NewSource extends SourceLocation {
  name?: string;
  include?: string[];
  exclude?: string[];
  maxFileBytes?: number;
}

/** The per-source file size limit: at least 1 byte, at most 1 GiB (as MAX_FILE_BYTES). */
export const MAX_FILE_BYTES_RANGE = { min: 1, max: 1024 * 1024 * 1024 } as const;

const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** A readable default name: the repository's last path segment, lower-cased. */
export function defaultSourceName(location: SourceLocation): string {
  const last =
    location.location
      .replace(/\.git$/, "")
      .split(/[/:\\]/)
      .filter(Boolean)
      .pop() ?? "source";
  return (
    last
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, "-")
      .replace(/^[^a-z0-9]+/, "")
      .slice(0, 63) || "source"
  );
}

/** Checks a per-source maxFileBytes; 422 naming the allowed range. */
export function checkMaxFileBytes(value: unknown, field = "maxFileBytes"): number | undefined {
  if (value === undefined) return undefined;
  const { min, max } = MAX_FILE_BYTES_RANGE;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max)
    throw new ValidationError(
      `${field} must be a whole number of bytes from ${min} to ${max} (1 GiB)`,
      [{ path: field, message: `allowed range ${min}-${max}` }],
    );
  return value;
}

/**
 * The one normalisation of a new source, used by the admin API and the CLI alike: the
 * location parsed (github:o/r → o/r, paths made absolute, surrounding whitespace dropped,
 * credentials refused), the globs checked and normalised, the size limit in range. Throws
 * ValidationError (422) naming the first problem.
 */
export function parseNewSource(input: SourceInput): NewSource {
  const location = parseSourceArgument(input.location);
  const name = input.name?.trim();
  if (name !== undefined && !NAME_PATTERN.test(name))
    throw new ValidationError(
      `source name "${name}" must be 1-63 of a-z 0-9 . _ - starting with a letter or digit`,
      [{ path: "name", message: "invalid" }],
    );
  const branch = input.branch?.trim() || location.branch;
  return {
    kind: location.kind,
    location: location.location,
    ...(branch ? { branch } : {}),
    ...(name ? { name } : {}),
    include: validateGlobs(input.include ?? [], "include"),
    exclude: validateGlobs(input.exclude ?? [], "exclude"),
    maxFileBytes: checkMaxFileBytes(input.maxFileBytes),
  };
}

/**
 * Refuses a location that is not in the form parseNewSource produces (`github:o/r` stored as a
 * github location, a trailing newline, a relative path, credentials): whatever the caller, what
 * is stored is what a webhook, a sync and a lookup by location will match.
 */
function assertCanonical(input: SourceLocation): void {
  let parsed: SourceLocation | undefined;
  try {
    parsed = parseSourceArgument(
      input.kind === "github" ? `github:${input.location}` : input.location,
    );
  } catch {
    parsed = undefined;
  }
  if (parsed?.kind !== input.kind || parsed.location !== input.location)
    throw new ValidationError(
      `source location ${JSON.stringify(input.location.slice(0, 200))} is not a normalised ${input.kind} location`,
      [{ path: "location", message: "not normalised" }],
    );
}

/** Stores a source normalised by parseNewSource; `name` overrides its name (free-name retries). */
export async function addSource(
  db: Database,
  input: NewSource,
  options: { name?: string } = {},
): Promise<SourceRecord> {
  const name = options.name ?? input.name ?? defaultSourceName(input);
  if (!NAME_PATTERN.test(name))
    throw new ValidationError(
      `source name "${name}" must be 1-63 of a-z 0-9 . _ - starting with a letter or digit`,
      [{ path: "name", message: "invalid" }],
    );
  assertCanonical(input);
  const maxFileBytes = checkMaxFileBytes(input.maxFileBytes);
  const include = validateGlobs(input.include ?? [], "include");
  const exclude = validateGlobs(input.exclude ?? [], "exclude");
  const [row] = await db
    .insert(sources)
    .values({
      name,
      kind: input.kind,
      location: input.location,
      branch: input.branch ?? null,
      include,
      exclude,
      maxFileBytes: maxFileBytes ?? null,
    })
    .onConflictDoNothing()
    .returning();
  if (!row) throw new ConflictError(`a source named "${name}" already exists`, "source_exists");
  return row;
}

/** A source as shown to a user (API, CLI): any credential in its location redacted. */
export function sourceView<T extends { location: string }>(source: T): T {
  return { ...source, location: redactLocation(source.location) };
}

export async function listSources(
  db: Database,
): Promise<(SourceRecord & { documentCount: number })[]> {
  const rows = await db
    .select({
      source: sources,
      // Qualified by hand: drizzle renders both columns unqualified inside this subquery, where
      // "id" would mean documents.id.
      documentCount: sql<number>`(select count(*)::int from documents d where d.source_id = "sources"."id")`,
    })
    .from(sources)
    .orderBy(asc(sources.name));
  return rows.map((r) => ({ ...r.source, documentCount: Number(r.documentCount) }));
}

/** By id or by name. */
export async function findSource(
  db: Database,
  idOrName: string,
): Promise<SourceRecord | undefined> {
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrName);
  const [row] = await db
    .select()
    .from(sources)
    .where(isUuid ? eq(sources.id, idOrName) : eq(sources.name, idOrName))
    .limit(1);
  return row;
}

export async function getSource(db: Database, idOrName: string): Promise<SourceRecord> {
  const row = await findSource(db, idOrName);
  if (!row) throw new NotFoundError(`no source "${idOrName}"`);
  return row;
}

/** An existing source for the same location and branch, so `sync <path>` reuses it. */
export async function findSourceByLocation(
  db: Database,
  location: SourceLocation,
): Promise<SourceRecord | undefined> {
  const [row] = await db
    .select()
    .from(sources)
    .where(
      and(
        eq(sources.kind, location.kind),
        eq(sources.location, location.location),
        location.branch ? eq(sources.branch, location.branch) : sql`${sources.branch} is null`,
      ),
    )
    .limit(1);
  return row;
}

/** Active GitHub sources tracking `owner/repo` at `branch` (null branch = the default branch). */
export async function sourcesForPush(
  db: Database,
  repository: string,
  branch: string,
  defaultBranch: string | undefined,
): Promise<SourceRecord[]> {
  const rows = await db
    .select()
    .from(sources)
    .where(
      and(
        eq(sources.kind, "github"),
        eq(sources.status, "active"),
        sql`lower(${sources.location}) = lower(${repository})`,
      ),
    );
  return rows.filter((s) => (s.branch ?? defaultBranch) === branch);
}

/** Removes the source with its runs, documents and chunks (cascade). */
export async function removeSource(
  db: Database,
  idOrName: string,
): Promise<{ source: SourceRecord; documents: number }> {
  const source = await getSource(db, idOrName);
  const [{ count } = { count: 0 }] = await db
    .select({ count: sql<number>`count(*)::int` })
    .from(documents)
    .where(eq(documents.sourceId, source.id));
  await db.delete(sources).where(eq(sources.id, source.id));
  return { source, documents: Number(count) };
}

export async function setSourceStatus(
  db: Database,
  id: string,
  status: "active" | "paused",
): Promise<void> {
  await db.update(sources).set({ status, updatedAt: new Date() }).where(eq(sources.id, id));
}

export async function setInstallation(
  db: Database,
  repositories: string[],
  installationId: number | null,
): Promise<number> {
  if (repositories.length === 0) return 0;
  const lowered = repositories.map((r) => r.toLowerCase());
  const rows = await db
    .update(sources)
    .set({ githubInstallationId: installationId, updatedAt: new Date() })
    .where(and(eq(sources.kind, "github"), sql`lower(${sources.location}) in ${lowered}`))
    .returning({ id: sources.id });
  return rows.length;
}
