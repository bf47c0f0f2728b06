import { createHash } from "node:crypto";
import { createInterface } from "node:readline";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../../db/client";
import { rowsOf } from "../../db/client";
import { archiveParts } from "../../db/schema";
import type { ArchiveStore } from "../archive/types";
import { BallastError, errorMessage, UnavailableError, ValidationError } from "../errors";
import type { Dataset } from "./datasets";

/**
 * Archive-before-delete, one UTC day of one table at a time:
 *   1. write  — the day's rows, paged from the database, as gzipped JSON Lines (streamed: the
 *               day is never held in memory), then a manifest beside it (rows, sha256 of the
 *               object, sha256 of the uncompressed content, first and last times);
 *   2. verify — read the object back: its sha256 against the manifest, gunzip, every line
 *               parsed, lines counted, content hash compared;
 *   3. delete — only then, exactly the rows the verified archive holds (by id), in batches.
 * A run that died after writing finds the manifest on its next attempt: it verifies the part
 * and deletes its rows, and archives a new part only for rows the archive does not hold — no
 * row is lost, none archived twice. A store that cannot be reached, or an archive that does not
 * verify, stops the day with nothing deleted.
 */

export const DAY = /^\d{4}-\d{2}-\d{2}$/;

export class ArchiveVerificationError extends BallastError {
  constructor(key: string, problem: string) {
    super(
      "archive_verification_failed",
      `archive ${key} failed verification: ${problem}; nothing was deleted`,
      500,
      false,
    );
  }
}

export const manifestSchema = z.strictObject({
  kind: z.literal("ballast-archive"),
  version: z.literal(1),
  dataset: z.string(),
  day: z.string().regex(DAY),
  part: z.number().int().min(1),
  key: z.string(),
  rows: z.number().int().min(0),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  contentSha256: z.string().regex(/^[0-9a-f]{64}$/),
  idColumn: z.string(),
  timeColumn: z.string(),
  firstAt: z.string().nullable(),
  lastAt: z.string().nullable(),
  createdAt: z.string(),
});
export type Manifest = z.output<typeof manifestSchema>;

/** Array casts for the id types a dataset may have (fixed strings: never from input). */
const ID_TYPES = { text: "text[]", bigint: "bigint[]", uuid: "uuid[]" } as const;

export function dayBounds(day: string): { start: Date; end: Date } {
  if (!DAY.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`)))
    throw new ValidationError(`"${day.slice(0, 40)}" is not a day (YYYY-MM-DD)`, [
      { path: "day", message: "YYYY-MM-DD" },
    ]);
  const start = new Date(`${day}T00:00:00Z`);
  if (start.toISOString().slice(0, 10) !== day)
    throw new ValidationError(`"${day}" is not a calendar day`, [
      { path: "day", message: "not a calendar day" },
    ]);
  return { start, end: new Date(start.getTime() + 86_400_000) };
}

/** The UTC day `days` before `now`'s day: rows of days before it have expired. */
export function cutoffDay(now: Date, days: number): string {
  const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return new Date(start - days * 86_400_000).toISOString().slice(0, 10);
}

function partKeys(ds: Dataset, day: string, part: number) {
  const base = `${ds.prefix}/${day}/part-${String(part).padStart(4, "0")}`;
  return { data: `${base}.jsonl.gz`, manifest: `${base}.manifest.json` };
}

const ident = (name: string) => sql.identifier(name);

function dayWhere(ds: Dataset, day: string): ReturnType<typeof sql> {
  const { start, end } = dayBounds(day);
  const time = ident(ds.timeColumn);
  const base = sql`${time} >= ${start.toISOString()}::timestamptz and ${time} < ${end.toISOString()}::timestamptz`;
  return ds.expirable ? sql`${base} and ${ds.expirable}` : base;
}

/** Days before `cutoff` (YYYY-MM-DD) holding expirable rows, with their row counts. */
export async function expiredDays(
  db: Database,
  ds: Dataset,
  cutoff: string,
): Promise<{ day: string; rows: number }[]> {
  const { start } = dayBounds(cutoff);
  const time = ident(ds.timeColumn);
  const rows = rowsOf<{ day: string; rows: string | number }>(
    await db.execute(sql`
      select to_char(${time} at time zone 'UTC', 'YYYY-MM-DD') as day, count(*) as rows
      from ${ident(ds.table)}
      where ${time} < ${start.toISOString()}::timestamptz ${ds.expirable ? sql`and ${ds.expirable}` : sql``}
      group by 1 order by 1`),
  );
  return rows.map((r) => ({ day: r.day, rows: Number(r.rows) }));
}

export async function countDay(db: Database, ds: Dataset, day: string): Promise<number> {
  const [row] = rowsOf<{ n: string | number }>(
    await db.execute(sql`select count(*) as n from ${ident(ds.table)} where ${dayWhere(ds, day)}`),
  );
  return Number(row?.n ?? 0);
}

/** The key under which a row's children travel in its line (no column is named so). */
function childrenKey(ds: Dataset): string {
  return `_${ds.children?.table}`;
}

/** A row of alias `t` as its archive line: the row's JSON, and its children's when it has any. */
function lineOf(ds: Dataset): ReturnType<typeof sql> {
  const c = ds.children;
  if (!c) return sql`to_jsonb(t)::text`;
  return sql`(to_jsonb(t) || jsonb_build_object(${childrenKey(ds)}::text, coalesce((
      select jsonb_agg(to_jsonb(c) order by c.${ident(c.orderBy)}, c.id)
      from ${ident(c.table)} c where c.${ident(c.foreignKey)} = t.${ident(ds.idColumn)}), '[]'::jsonb)))::text`;
}

/** The day's rows as JSON lines, paged by (time, id): at most `pageSize` rows in memory. */
async function* dayLines(
  db: Database,
  ds: Dataset,
  day: string,
  pageSize: number,
  seen: { rows: number; firstAt: string | null; lastAt: string | null },
): AsyncGenerator<Buffer> {
  const time = ident(ds.timeColumn);
  const id = ident(ds.idColumn);
  let after: { at: string; id: string } | null = null;
  for (;;) {
    const cursor: ReturnType<typeof sql> = after
      ? sql`and (${time}, ${id}) > (${after.at}::timestamptz, ${after.id})`
      : sql``;
    const page = rowsOf<{ line: string; at: string; id: string }>(
      await db.execute(sql`
        select ${lineOf(ds)} as line, to_jsonb(t.${time}) #>> '{}' as at, t.${id}::text as id
        from ${ident(ds.table)} t
        where ${dayWhere(ds, day)} ${cursor}
        order by ${time}, ${id}
        limit ${pageSize}`),
    );
    if (page.length === 0) return;
    const chunk: string[] = [];
    for (const row of page) {
      chunk.push(row.line);
      seen.rows++;
      seen.firstAt ??= row.at;
      seen.lastAt = row.at;
    }
    yield Buffer.from(`${chunk.join("\n")}\n`, "utf8");
    const last = page[page.length - 1] as { at: string; id: string };
    after = { at: last.at, id: last.id };
    if (page.length < pageSize) return;
  }
}

function unavailable(store: ArchiveStore, action: string, error: unknown): BallastError {
  if (error instanceof BallastError) return error;
  return new UnavailableError(
    `the archive store (${store.location}) failed while ${action}: ${errorMessage(error)}`,
    "archive_unavailable",
    { cause: error },
  );
}

/** Writes one part (data, then manifest) from the day's current rows. */
async function writePart(
  db: Database,
  store: ArchiveStore,
  ds: Dataset,
  day: string,
  part: number,
  pageSize: number,
): Promise<Manifest> {
  const keys = partKeys(ds, day, part);
  // Fresh statistics, so each page is an index range scan on (time, id) rather than a sort of
  // the whole table (PGlite has no autovacuum to keep them current).
  await db.execute(sql`analyze ${ident(ds.table)}`);
  const seen = { rows: 0, firstAt: null as string | null, lastAt: null as string | null };
  const content = createHash("sha256");
  const source = Readable.from(
    (async function* () {
      for await (const chunk of dayLines(db, ds, day, pageSize, seen)) {
        content.update(chunk);
        yield chunk;
      }
    })(),
  );
  const gzip = createGzip({ level: 6 });
  const body = new PassThrough();
  const piping = pipeline(source, gzip, body);
  piping.catch(() => undefined); // surfaced through the put (the body errors) or awaited below
  const info = await store
    .put(keys.data, body, {
      contentType: "application/gzip",
      metadata: { dataset: ds.table, day, part: String(part) },
    })
    .catch((error: unknown) => {
      source.destroy();
      throw unavailable(store, `writing ${keys.data}`, error);
    });
  await piping;
  const manifest: Manifest = {
    kind: "ballast-archive",
    version: 1,
    dataset: ds.table,
    day,
    part,
    key: keys.data,
    rows: seen.rows,
    bytes: info.size,
    sha256: info.sha256,
    contentSha256: content.digest("hex"),
    idColumn: ds.idColumn,
    timeColumn: ds.timeColumn,
    firstAt: seen.firstAt,
    lastAt: seen.lastAt,
    createdAt: new Date().toISOString(),
  };
  await store
    .put(keys.manifest, `${JSON.stringify(manifest, null, 2)}\n`, {
      contentType: "application/json",
    })
    .catch((error: unknown) => {
      throw unavailable(store, `writing ${keys.manifest}`, error);
    });
  return manifest;
}

async function readManifest(store: ArchiveStore, key: string): Promise<Manifest> {
  let text: string;
  try {
    text = (await store.get(key)).body.toString("utf8");
  } catch (error) {
    if (error instanceof BallastError && error.code === "archive_checksum_mismatch")
      throw new ArchiveVerificationError(key, error.message);
    throw unavailable(store, `reading ${key}`, error);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ArchiveVerificationError(key, "the manifest is not JSON");
  }
  const result = manifestSchema.safeParse(parsed);
  if (!result.success) throw new ArchiveVerificationError(key, "the manifest is not valid");
  return result.data;
}

/**
 * Streams a part's lines after checking nothing: the caller's `onLine` gets each parsed row.
 * Resolves with what was read; the sha256 of the object and of its content, and the line count.
 */
async function readPart(
  store: ArchiveStore,
  manifest: Manifest,
  onLine: (row: Record<string, unknown>, line: string) => Promise<void> | void,
): Promise<{ sha256: string; contentSha256: string; rows: number; bytes: number }> {
  let opened: Awaited<ReturnType<ArchiveStore["getStream"]>>;
  try {
    opened = await store.getStream(manifest.key);
  } catch (error) {
    if (error instanceof BallastError && error.code === "not_found")
      throw new ArchiveVerificationError(manifest.key, "the data object is missing");
    throw unavailable(store, `reading ${manifest.key}`, error);
  }
  const raw = createHash("sha256");
  const content = createHash("sha256");
  let bytes = 0;
  let rows = 0;
  const counted = new PassThrough();
  counted.on("data", (chunk: Buffer) => {
    raw.update(chunk);
    bytes += chunk.length;
  });
  const gunzip = createGunzip();
  const piping = pipeline(opened.stream, counted, gunzip);
  piping.catch(() => undefined);
  const lines = createInterface({ input: gunzip, crlfDelay: Number.POSITIVE_INFINITY });
  // readline re-emits its input's errors as its own 'error' event. The loop below listens only
  // while it runs; once it has stopped early (a line that is not a row), a later error of the
  // gunzip stream (its data check, or the premature close of destroying the source) would be
  // emitted to nobody and crash the process. The pipeline promise carries that error instead.
  lines.on("error", () => undefined);
  try {
    for await (const line of lines) {
      content.update(`${line}\n`);
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch {
        throw new ArchiveVerificationError(manifest.key, `line ${rows + 1} is not JSON`);
      }
      if (!row || typeof row !== "object" || !(manifest.idColumn in row))
        throw new ArchiveVerificationError(manifest.key, `line ${rows + 1} is not a row`);
      rows++;
      await onLine(row as Record<string, unknown>, line);
    }
    await piping;
  } catch (error) {
    opened.stream.destroy();
    if (error instanceof ArchiveVerificationError) throw error;
    if (error instanceof BallastError && error.code === "archive_checksum_mismatch")
      throw new ArchiveVerificationError(manifest.key, error.message);
    if (error instanceof BallastError) throw error;
    const code = (error as { code?: string }).code ?? "";
    if (code.startsWith("Z_") || /gzip|header|zlib|unexpected end/i.test(errorMessage(error)))
      throw new ArchiveVerificationError(manifest.key, "it does not gunzip");
    throw unavailable(store, `reading ${manifest.key}`, error);
  } finally {
    lines.close();
    gunzip.destroy();
  }
  return {
    sha256: raw.digest("hex"),
    contentSha256: content.digest("hex"),
    rows,
    bytes,
  };
}

/** Reads a part back whole and checks it against its manifest. Throws ArchiveVerificationError. */
export async function verifyPart(store: ArchiveStore, manifest: Manifest): Promise<void> {
  const read = await readPart(store, manifest, () => undefined);
  if (read.sha256 !== manifest.sha256 || read.bytes !== manifest.bytes)
    throw new ArchiveVerificationError(
      manifest.key,
      `its sha256 is ${read.sha256} (${read.bytes} bytes); the manifest says ${manifest.sha256} (${manifest.bytes} bytes)`,
    );
  if (read.rows !== manifest.rows)
    throw new ArchiveVerificationError(
      manifest.key,
      `it holds ${read.rows} rows; the manifest says ${manifest.rows}`,
    );
  if (read.contentSha256 !== manifest.contentSha256)
    throw new ArchiveVerificationError(manifest.key, "its content hash differs from the manifest");
}

/** The manifests of a day, by part number. */
export async function dayManifests(
  store: ArchiveStore,
  ds: Dataset,
  day: string,
): Promise<Manifest[]> {
  dayBounds(day);
  const keys: string[] = [];
  try {
    for await (const info of store.list(`${ds.prefix}/${day}/`))
      if (info.key.endsWith(".manifest.json")) keys.push(info.key);
  } catch (error) {
    throw unavailable(store, `listing ${ds.prefix}/${day}/`, error);
  }
  const manifests: Manifest[] = [];
  for (const key of keys.sort()) manifests.push(await readManifest(store, key));
  return manifests.sort((a, b) => a.part - b.part);
}

async function recordPart(db: Database, manifest: Manifest, deleted: number): Promise<void> {
  await db
    .insert(archiveParts)
    .values({
      dataset: manifest.dataset,
      day: manifest.day,
      part: manifest.part,
      key: manifest.key,
      rows: manifest.rows,
      bytes: manifest.bytes,
      sha256: manifest.sha256,
      contentSha256: manifest.contentSha256,
      verifiedAt: new Date(),
      deletedRows: deleted,
    })
    .onConflictDoUpdate({
      target: [archiveParts.dataset, archiveParts.day, archiveParts.part],
      set: {
        key: manifest.key,
        rows: manifest.rows,
        bytes: manifest.bytes,
        sha256: manifest.sha256,
        contentSha256: manifest.contentSha256,
        verifiedAt: new Date(),
        deletedRows: sql`${archiveParts.deletedRows} + ${deleted}`,
        expiredAt: null,
      },
    });
}

/** Rows changed by a statement (PGlite says affectedRows, node-postgres and Neon rowCount). */
function affected(result: unknown): number {
  const r = result as { affectedRows?: number; rowCount?: number | null };
  return Number(r.affectedRows ?? r.rowCount ?? 0);
}

/** Deletes exactly the rows a verified part holds (by id), in batches. */
async function deletePartRows(
  db: Database,
  store: ArchiveStore,
  ds: Dataset,
  manifest: Manifest,
  batchSize: number,
): Promise<number> {
  let deleted = 0;
  let ids: string[] = [];
  const flush = async () => {
    if (ids.length === 0) return;
    const batch = ids;
    ids = [];
    const result = await db.execute(sql`
      delete from ${ident(ds.table)}
      where ${ident(ds.idColumn)} = any(${sql.param(batch)}::${sql.raw(ID_TYPES[ds.idType ?? "text"])})
        and ${dayWhere(ds, manifest.day)}`);
    deleted += affected(result);
  };
  await readPart(store, manifest, async (row) => {
    ids.push(String(row[ds.idColumn]));
    if (ids.length >= batchSize) await flush();
  });
  await flush();
  return deleted;
}

export interface DayOutcome {
  dataset: string;
  day: string;
  /** Parts written by this call. */
  written: number;
  /** Parts found from an earlier run, verified and finished. */
  resumed: number;
  archivedRows: number;
  deletedRows: number;
  /** The dry run's answer: rows that would be archived and deleted. */
  wouldArchive?: number;
}

export interface ArchiveDayOptions {
  dryRun?: boolean;
  pageSize?: number;
  deleteBatch?: number;
  /** Test hook: called after the archive is verified and before any row is deleted. */
  beforeDelete?: (manifest: Manifest) => Promise<void> | void;
}

/** Archives, verifies and deletes one expired day of one dataset (see the top of this file). */
export async function archiveDay(
  db: Database,
  store: ArchiveStore,
  ds: Dataset,
  day: string,
  options: ArchiveDayOptions = {},
): Promise<DayOutcome> {
  const pageSize = options.pageSize ?? 5000;
  const deleteBatch = options.deleteBatch ?? 5000;
  const outcome: DayOutcome = {
    dataset: ds.table,
    day,
    written: 0,
    resumed: 0,
    archivedRows: 0,
    deletedRows: 0,
  };
  if (options.dryRun) {
    outcome.wouldArchive = await countDay(db, ds, day);
    return outcome;
  }
  const existing = await dayManifests(store, ds, day);
  for (const manifest of existing) {
    await verifyPart(store, manifest);
    await options.beforeDelete?.(manifest);
    const deleted = await deletePartRows(db, store, ds, manifest, deleteBatch);
    await recordPart(db, manifest, deleted);
    outcome.resumed++;
    outcome.deletedRows += deleted;
  }
  const remaining = await countDay(db, ds, day);
  if (remaining === 0) return outcome;
  const part = (existing[existing.length - 1]?.part ?? 0) + 1;
  const manifest = await writePart(db, store, ds, day, part, pageSize);
  await verifyPart(store, manifest);
  await recordPart(db, manifest, 0);
  await options.beforeDelete?.(manifest);
  const deleted = await deletePartRows(db, store, ds, manifest, deleteBatch);
  await db
    .update(archiveParts)
    .set({ deletedRows: deleted })
    .where(
      and(
        eq(archiveParts.dataset, ds.table),
        eq(archiveParts.day, day),
        eq(archiveParts.part, part),
      ),
    );
  outcome.written++;
  outcome.archivedRows += manifest.rows;
  outcome.deletedRows += deleted;
  return outcome;
}

/**
 * Brings an archived day back: every part verified whole first (a tampered part restores
 * nothing), then inserted in one transaction (rows already present are left as they are).
 */
export async function restoreDay(
  db: Database,
  store: ArchiveStore,
  ds: Dataset,
  day: string,
  options: { dryRun?: boolean; batchSize?: number } = {},
): Promise<{ parts: number; rows: number; inserted: number }> {
  const manifests = await dayManifests(store, ds, day);
  for (const manifest of manifests) await verifyPart(store, manifest);
  const rows = manifests.reduce((n, m) => n + m.rows, 0);
  if (options.dryRun || manifests.length === 0)
    return { parts: manifests.length, rows, inserted: 0 };
  const batchSize = options.batchSize ?? 1000;
  let inserted = 0;
  await db.transaction(async (tx) => {
    for (const manifest of manifests) {
      let batch: string[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        const json = `[${batch.join(",")}]`;
        batch = [];
        const result = await tx.execute(sql`
          insert into ${ident(ds.table)}
          select * from jsonb_populate_recordset(null::${ident(ds.table)}, ${json}::jsonb)
          on conflict do nothing`);
        inserted += affected(result);
        // The rows' children after them (their foreign key needs the row).
        if (ds.children)
          await tx.execute(sql`
            insert into ${ident(ds.children.table)}
            select c.* from jsonb_array_elements(${json}::jsonb) as p(r),
              jsonb_populate_recordset(null::${ident(ds.children.table)}, p.r -> ${childrenKey(ds)}::text) as c
            on conflict do nothing`);
      };
      await readPart(store, manifest, async (_row, line) => {
        batch.push(line);
        if (batch.length >= batchSize) await flush();
      });
      await flush();
    }
  });
  return { parts: manifests.length, rows, inserted };
}

/**
 * Removes archives (data and manifest) of days before `cutoff` from the store, manifest first
 * (so a half-removed part is never taken for a complete one).
 */
export async function expireArchives(
  db: Database,
  store: ArchiveStore,
  ds: Dataset,
  cutoff: string,
  options: { dryRun?: boolean } = {},
): Promise<{ days: string[]; objects: number }> {
  dayBounds(cutoff);
  const expired = new Map<string, string[]>();
  try {
    for await (const info of store.list(`${ds.prefix}/`)) {
      const day = info.key.slice(ds.prefix.length + 1, ds.prefix.length + 11);
      if (DAY.test(day) && day < cutoff) {
        const keys = expired.get(day) ?? [];
        keys.push(info.key);
        expired.set(day, keys);
      }
    }
  } catch (error) {
    throw unavailable(store, `listing ${ds.prefix}/`, error);
  }
  let objects = 0;
  for (const [day, keys] of expired) {
    const ordered = [
      ...keys.filter((k) => k.endsWith(".manifest.json")),
      ...keys.filter((k) => !k.endsWith(".manifest.json")),
    ];
    if (!options.dryRun) {
      for (const key of ordered)
        await store.delete(key).catch((error: unknown) => {
          throw unavailable(store, `deleting ${key}`, error);
        });
      await db
        .update(archiveParts)
        .set({ expiredAt: new Date() })
        .where(and(eq(archiveParts.dataset, ds.table), eq(archiveParts.day, day)));
    }
    objects += ordered.length;
  }
  return { days: [...expired.keys()].sort(), objects };
}
