import { createHash, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { and, asc, eq, gte, inArray, lt } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../../db/client";
import { ledgerEntries, sources, syncRuns } from "../../db/schema";
import type { ArchiveStore } from "../archive";
import type { Config } from "../config";
import { NotFoundError, ValidationError } from "../errors";
import { scrubJson } from "../ledger/record";
import { getSource } from "../pipeline/source-records";
import { redactLocation } from "../security/redact";
import {
  githubStateSchema,
  type RecordedPlan,
  recordGitHubState,
  verifyGitHubState,
} from "./github";
import { gitDirOf, snapshotCommits, verifyBundle } from "./repository";

/**
 * A replay bundle: everything needed to re-run a window of production traffic elsewhere —
 * the inbound events, the ledger entries of every finished run in the window (plans,
 * batches, outcomes), the configuration that shaped them (as a hash and its non-secret
 * settings), and the repository state: for a git source the commit ids plus a git bundle of
 * their objects; for a GitHub source the commit ids plus the API's answers a replay needs
 * (tree listings, compare results, and the blobs, once per sha, gzipped — see ./github.ts).
 * Repository state is file contents, like the source itself: it is in the bundle, never in
 * the ledger, and not scrubbed (that would corrupt it). Gzipped JSON with a SHA-256 over its content; scrubbed of secrets again on export, so an
 * entry recorded before a secret was configured cannot carry it out.
 */

export const BUNDLE_FORMAT = "ballast.replay-bundle";
export const BUNDLE_VERSION = 1;
/** A bundle larger than this, unpacked, is refused (a gzip bomb, or not a bundle at all). */
export const MAX_BUNDLE_BYTES = 1024 ** 3;

const isoDate = z.iso.datetime({ offset: true });
const uuid = z.uuid();

const entrySchema = z.object({
  key: z.string().max(500),
  kind: z.enum(["event", "plan", "batch", "run"]),
  name: z.string().max(100),
  correlationId: z.string().max(500).nullable(),
  sourceId: uuid.nullable(),
  runId: uuid.nullable(),
  data: z.record(z.string(), z.unknown()),
  recordedAt: isoDate,
});

const bundleSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  version: z.literal(BUNDLE_VERSION),
  id: uuid,
  createdAt: isoDate,
  window: z.object({ since: isoDate, until: isoDate }),
  filter: z.object({ source: uuid.nullable(), runs: z.array(uuid).max(10_000).nullable() }),
  config: z.object({
    hash: z.string().regex(/^[0-9a-f]{16}$/),
    settings: z.record(z.string(), z.unknown()),
  }),
  sources: z
    .array(
      z.object({
        id: uuid,
        name: z.string().max(200),
        kind: z.enum(["git", "github"]),
        location: z.string().max(2000),
        branch: z.string().max(255).nullable(),
        include: z.array(z.string().max(1000)).max(1000),
        exclude: z.array(z.string().max(1000)).max(1000),
        maxFileBytes: z.number().int().nullable(),
      }),
    )
    .max(10_000),
  runs: z
    .array(
      z.object({
        id: uuid,
        sourceId: uuid,
        correlationId: z.string().max(500).nullable(),
        dedupeKey: z.string().max(500),
        trigger: z.enum(["cli", "webhook", "schedule", "admin", "retry"]),
        requestedMode: z.enum(["full", "incremental"]),
        queuedAt: isoDate,
      }),
    )
    .max(100_000),
  /** Finished runs in the window left out, with why (no ledger entries: recorded with the ledger off). */
  skippedRuns: z.array(z.object({ id: uuid, reason: z.string().max(500) })).max(100_000),
  entries: z.array(entrySchema).max(10_000_000),
  repositories: z
    .array(
      z.object({
        sourceId: uuid,
        commits: z.array(z.string().regex(/^[0-9a-f]{40,64}$/)),
        missing: z.array(z.string().regex(/^[0-9a-f]{40,64}$/)),
        /** base64 of the git bundle; null when the source has no git objects to give. */
        gitBundle: z.string().nullable(),
        /** A GitHub source's recorded API answers and blobs. */
        github: githubStateSchema.optional(),
        reason: z.string().max(500).optional(),
      }),
    )
    .max(10_000),
});

export type ReplayBundle = z.output<typeof bundleSchema>;
export type BundleEntry = z.output<typeof entrySchema>;
export type BundleRun = ReplayBundle["runs"][number];

/** The settings that shape an index (no secrets), and their hash: what a replay compares under. */
export function replayConfig(config: Config): ReplayBundle["config"] {
  const settings = {
    chunking: config.chunking,
    embedding: {
      provider: config.embedding.provider,
      model: config.embedding.model,
      dimensions: config.embedding.dimensions,
    },
    batchSize: config.sync.batchSize,
    maxFileBytes: config.sync.maxFileBytes,
  };
  return {
    hash: createHash("sha256").update(JSON.stringify(settings)).digest("hex").slice(0, 16),
    settings,
  };
}

export interface ExportOptions {
  since: Date;
  until: Date;
  /** A source id or name. */
  source?: string;
  runIds?: string[];
}

/** Builds a bundle from this deployment's ledger, runs and repositories. */
export async function exportBundle(
  env: { db: Database; config: Config },
  options: ExportOptions,
): Promise<ReplayBundle> {
  const { db, config } = env;
  if (Number.isNaN(options.since.getTime()) || Number.isNaN(options.until.getTime()))
    throw new ValidationError("--since and --until must be dates (ISO 8601)", [
      { path: "since/until", message: "not a date" },
    ]);
  if (options.since >= options.until)
    throw new ValidationError("--since must be before --until", [
      { path: "since", message: "not before until" },
    ]);
  for (const id of options.runIds ?? [])
    if (!uuid.safeParse(id).success)
      throw new ValidationError(`--runs takes run ids (UUIDs); "${id.slice(0, 40)}" is not one`, [
        { path: "runs", message: "not a UUID" },
      ]);
  const source = options.source ? await getSource(db, options.source) : undefined;

  const conditions = [
    gte(syncRuns.queuedAt, options.since),
    lt(syncRuns.queuedAt, options.until),
    inArray(syncRuns.status, ["succeeded", "completed_with_errors", "failed", "cancelled"]),
    source ? eq(syncRuns.sourceId, source.id) : undefined,
    options.runIds?.length ? inArray(syncRuns.id, options.runIds) : undefined,
  ].filter((c) => c !== undefined);
  const runs = await db
    .select()
    .from(syncRuns)
    .where(and(...conditions))
    .orderBy(asc(syncRuns.queuedAt), asc(syncRuns.id));

  const runIds = runs.map((r) => r.id);
  const runRows =
    runIds.length === 0
      ? []
      : await db
          .select()
          .from(ledgerEntries)
          .where(inArray(ledgerEntries.runId, runIds))
          .orderBy(asc(ledgerEntries.id));
  const recorded = new Set(runRows.filter((r) => r.kind === "run").map((r) => r.runId as string));
  const planned = new Set(runRows.filter((r) => r.kind === "plan").map((r) => r.runId as string));
  const kept = runs.filter((r) => recorded.has(r.id));
  const skippedRuns = runs
    .filter((r) => !recorded.has(r.id))
    .map((r) => ({
      id: r.id,
      reason: planned.has(r.id)
        ? "the run's outcome is not in the ledger"
        : "the run is not in the ledger (recorded with LEDGER_ENABLED=false, or pruned)",
    }));
  const keptIds = new Set(kept.map((r) => r.id));
  const correlations = new Set(kept.map((r) => r.correlationId).filter(Boolean));
  const events = await db
    .select()
    .from(ledgerEntries)
    .where(
      and(
        eq(ledgerEntries.kind, "event"),
        gte(ledgerEntries.recordedAt, options.since),
        lt(ledgerEntries.recordedAt, options.until),
      ),
    )
    .orderBy(asc(ledgerEntries.id));
  const entries = [
    ...events.filter(
      (e) =>
        (!source && !options.runIds?.length) ||
        (e.correlationId !== null && correlations.has(e.correlationId)),
    ),
    ...runRows.filter((r) => r.runId && keptIds.has(r.runId)),
  ].map(({ id: _id, ...r }) => ({ ...r, recordedAt: r.recordedAt.toISOString() }));

  const sourceIds = [...new Set(kept.map((r) => r.sourceId))];
  const sourceRows =
    sourceIds.length === 0
      ? []
      : await db.select().from(sources).where(inArray(sources.id, sourceIds));
  const repositories: ReplayBundle["repositories"] = [];
  for (const s of sourceRows) {
    const commits = new Set<string>();
    for (const r of runRows) {
      if (r.sourceId !== s.id || r.kind !== "plan" || !keptIds.has(r.runId ?? "")) continue;
      const plan = r.data as {
        toCommit?: string | null;
        cursorBefore?: { commit?: string | null };
      };
      if (plan.toCommit) commits.add(plan.toCommit);
      if (plan.cursorBefore?.commit) commits.add(plan.cursorBefore.commit);
    }
    if (s.kind === "github") {
      const plans = runRows
        .filter((r) => r.sourceId === s.id && r.kind === "plan" && keptIds.has(r.runId ?? ""))
        .map((r) => r.data as RecordedPlan);
      const recorded = await recordGitHubState(config, s, plans);
      repositories.push({
        sourceId: s.id,
        commits: recorded.commits,
        missing: recorded.missing,
        gitBundle: null,
        ...(recorded.github ? { github: recorded.github } : {}),
        ...(recorded.reason ? { reason: recorded.reason } : {}),
      });
      continue;
    }
    try {
      const snapshot = await snapshotCommits(await gitDirOf(s.location, config.sync.workDir), [
        ...commits,
      ]);
      repositories.push({
        sourceId: s.id,
        commits: snapshot.commits,
        missing: snapshot.missing,
        gitBundle: snapshot.bundle ? snapshot.bundle.toString("base64") : null,
        ...(snapshot.missing.length > 0
          ? { reason: "some commits are gone from the repository (history rewritten)" }
          : {}),
      });
    } catch {
      repositories.push({
        sourceId: s.id,
        commits: [],
        missing: [...commits],
        gitBundle: null,
        reason: "the repository could not be read",
      });
    }
  }

  const withoutRepositories = scrubJson(
    {
      format: BUNDLE_FORMAT,
      version: BUNDLE_VERSION,
      id: randomUUID(),
      createdAt: new Date().toISOString(),
      window: { since: options.since.toISOString(), until: options.until.toISOString() },
      filter: { source: source?.id ?? null, runs: options.runIds?.length ? options.runIds : null },
      config: replayConfig(config),
      sources: sourceRows.map((s) => ({
        id: s.id,
        name: s.name,
        kind: s.kind,
        location: redactLocation(s.location),
        branch: s.branch,
        include: s.include,
        exclude: s.exclude,
        maxFileBytes: s.maxFileBytes,
      })),
      runs: kept.map((r) => ({
        id: r.id,
        sourceId: r.sourceId,
        correlationId: r.correlationId,
        dedupeKey: r.dedupeKey,
        trigger: r.trigger,
        requestedMode: r.requestedMode,
        queuedAt: r.queuedAt.toISOString(),
      })),
      skippedRuns,
      entries,
    },
    config.secrets,
  );
  // Git objects and GitHub blobs are the repository's own; scrubbing could only corrupt them.
  return { ...withoutRepositories, repositories } as ReplayBundle;
}

/** The bundle as bytes: gzipped JSON, with a SHA-256 of the JSON as its last field. */
export function encodeBundle(bundle: ReplayBundle): Buffer {
  const body = JSON.stringify(bundle);
  const sha256 = createHash("sha256").update(body).digest("hex");
  return gzipSync(JSON.stringify({ sha256, bundle: JSON.parse(body) }));
}

function invalid(message: string): ValidationError {
  return new ValidationError(`not a replay bundle: ${message}`, [{ path: "bundle", message }]);
}

/** Reads and checks a bundle: gzip, size, checksum, schema, git bundles. */
export async function decodeBundle(bytes: Buffer): Promise<ReplayBundle> {
  let text: string;
  try {
    text = gunzipSync(bytes, { maxOutputLength: MAX_BUNDLE_BYTES }).toString("utf8");
  } catch (error) {
    throw invalid(
      (error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE"
        ? `larger than ${MAX_BUNDLE_BYTES} bytes unpacked`
        : "not gzip data",
    );
  }
  let outer: { sha256?: unknown; bundle?: unknown };
  try {
    outer = JSON.parse(text) as typeof outer;
  } catch {
    throw invalid("not JSON inside");
  }
  if (typeof outer !== "object" || outer === null || typeof outer.sha256 !== "string")
    throw invalid("no checksum");
  const body = JSON.stringify(outer.bundle);
  if (createHash("sha256").update(body).digest("hex") !== outer.sha256)
    throw invalid("the checksum does not match its content (damaged or edited)");
  const parsed = bundleSchema.safeParse(outer.bundle);
  if (!parsed.success)
    throw new ValidationError(
      "not a replay bundle: its content does not match the format",
      parsed.error.issues.slice(0, 20).map((issue) => ({
        path: issue.path.map(String).join(".") || "(root)",
        message: issue.message,
      })),
    );
  for (const repo of parsed.data.repositories) {
    if (repo.github) {
      try {
        verifyGitHubState(repo.github);
      } catch (error) {
        throw invalid(
          `the GitHub state of source ${repo.sourceId} is damaged: ${(error as Error).message}`,
        );
      }
    }
    if (!repo.gitBundle) continue;
    let commits: string[];
    try {
      commits = await verifyBundle(Buffer.from(repo.gitBundle, "base64"));
    } catch {
      throw invalid(`the repository state of source ${repo.sourceId} is not a valid git bundle`);
    }
    if (commits.sort().join() !== [...repo.commits].sort().join())
      throw invalid(`the repository state of source ${repo.sourceId} lists other commits`);
  }
  return parsed.data;
}

/** Where bundles live in the archive store. */
export function bundleKey(bundle: Pick<ReplayBundle, "id" | "window">): string {
  return `replay/bundles/${bundle.window.until.slice(0, 10)}/${bundle.id}.json.gz`;
}

/** Writes a bundle into the archive store under its key; returns the key. Idempotent. */
export async function storeBundle(archive: ArchiveStore, bundle: ReplayBundle): Promise<string> {
  const key = bundleKey(bundle);
  if (!(await archive.head(key)))
    await archive.put(key, encodeBundle(bundle), {
      contentType: "application/gzip",
      metadata: { bundle: bundle.id, since: bundle.window.since, until: bundle.window.until },
    });
  return key;
}

/**
 * `ballast replay import`: checks a bundle made elsewhere (format, checksum, git objects) and
 * keeps it in this deployment's archive store, where `replay run --bundle archive:<key>` and
 * the nightly workflow find it.
 */
export async function importBundle(
  archive: ArchiveStore,
  bytes: Buffer,
): Promise<{ key: string; bundle: ReplayBundle }> {
  const bundle = await decodeBundle(bytes);
  return { key: await storeBundle(archive, bundle), bundle };
}

export const ARCHIVE_REF = "archive:";

/** A bundle from a file, or from the archive store (`archive:<key>`). */
export async function loadBundle(
  ref: string,
  archive: ArchiveStore,
): Promise<{ bundle: ReplayBundle; ref: string }> {
  if (ref.startsWith(ARCHIVE_REF)) {
    const key = ref.slice(ARCHIVE_REF.length);
    if (!(await archive.head(key)))
      throw new NotFoundError(`no bundle ${key} in the archive store`);
    const { body } = await archive.get(key);
    return { bundle: await decodeBundle(body), ref };
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(ref);
  } catch (error) {
    throw new ValidationError(
      `cannot read the bundle file ${path.basename(ref)}: ${(error as NodeJS.ErrnoException).code ?? "unreadable"}`,
      [{ path: "bundle", message: "unreadable" }],
    );
  }
  return { bundle: await decodeBundle(bytes), ref: path.basename(ref) };
}
