import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../../db/client";
import type { ArchiveStore } from "../../lib/archive";
import { loadConfig } from "../../lib/config";
import { discardDeadLetter, recordEventFailure, retryDeadLetter } from "../../lib/recovery/dlq";
import {
  ArchiveVerificationError,
  cutoffDay,
  dayManifests,
  expiredDays,
  restoreDay,
  verifyPart,
} from "../../lib/retention/archive";
import { type CleanupRun, listCleanupRuns } from "../../lib/retention/cleanup";
import { DEAD_LETTER_DATASET, datasetByName } from "../../lib/retention/datasets";
import type { TracedArchiveStore } from "../../lib/traces/external";
import { workflows } from "../../lib/workflows";
import { cleanupWorkflow } from "../../lib/workflows/cleanup";
import { requestedEventName } from "../../lib/workflows/events";
import { runInline } from "../../lib/workflows/inline";
import { describeResult, runCli } from "../support/cli";
import { createTestRuntime, type TestRuntime } from "../support/runtime";
import { type S3TestServer, startS3Server } from "../support/s3-server";

const DAY_MS = 86_400_000;

/**
 * The dead-letter queue as an archived dataset, against a real S3-protocol server (s3rver) and
 * PGlite: ended entries (resolved, discarded) past DLQ_RETENTION_DAYS are archived with their
 * attempt history by the cleanup workflow, verified, deleted, and restored exactly — by the
 * library and by `ballast traces restore --dataset dlq`; open entries are never touched.
 */
describe("dead-letter archives", () => {
  let s3: S3TestServer;
  let dataDir: string;
  let rt: TestRuntime | undefined;
  let raw: ArchiveStore;
  let s3Env: Record<string, string>;
  const now = new Date();
  const old = new Date(now.getTime() - 40 * DAY_MS);
  const oldDay = old.toISOString().slice(0, 10);
  const ids: Record<string, string> = {};
  let original: Awaited<ReturnType<typeof snapshot>> | undefined;

  const open = () =>
    createTestRuntime({ PGLITE_DIR: path.join(dataDir, "pglite"), ...s3Env }).then((r) => {
      rt = r;
      raw = (r.archive as TracedArchiveStore).unwrapped;
      return r;
    });
  const db = () => (rt as TestRuntime).db;

  beforeAll(async () => {
    s3 = await startS3Server();
    dataDir = await mkdtemp(path.join(tmpdir(), "ballast-dlq-archive-"));
    s3Env = {
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_FORCE_PATH_STYLE: "true",
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      // One prefix for this test's runtime (test mode) and the CLI (development mode).
      S3_PREFIX: "ballast/dlq-archive/",
    };
    await open();
  });
  afterAll(async () => {
    await rt?.close();
    await s3?.close();
    await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
  });

  /** A failed event's entry (its first attempt logged), backdated to `at`. */
  async function entry(name: string, at: Date, failures = 1): Promise<string> {
    let id = "";
    for (let i = 0; i < failures; i++)
      ({ id } = await recordEventFailure(
        db(),
        {
          functionId: "process-batch",
          event: { id: `evt-${name}`, name: "source/batch.requested", data: { runId: name } },
          errorClass: "UnavailableError",
          message: `upstream failed (${name}, attempt ${i + 1})`,
          dependency: "embedding:openai",
          correlationId: `dlq:${name}`,
        },
        undefined,
        new Date(at.getTime() + i * 60_000),
      ));
    await db().execute(sql`
      update dead_letters set first_seen_at = ${at.toISOString()}::timestamptz,
        last_seen_at = ${at.toISOString()}::timestamptz + interval '10 minutes'
      where id = ${id}`);
    await db().execute(sql`
      update dead_letter_attempts set at = ${at.toISOString()}::timestamptz + (random() * interval '1 hour')
      where entry_id = ${id}`);
    ids[name] = id;
    return id;
  }

  /** Ends an entry as resolved/discarded at `at` (what the sync or the operator does, backdated). */
  async function endAt(id: string, at: Date): Promise<void> {
    await db().execute(
      sql`update dead_letters set resolved_at = ${at.toISOString()}::timestamptz where id = ${id}`,
    );
  }

  async function snapshot(): Promise<{
    entries: Map<string, string>;
    attempts: Map<string, string[]>;
  }> {
    const entries = new Map(
      rowsOf<{ id: string; j: string }>(
        await db().execute(sql`select id, to_jsonb(d)::text as j from dead_letters d order by id`),
      ).map((r) => [r.id, r.j]),
    );
    const attempts = new Map<string, string[]>();
    for (const r of rowsOf<{ entry_id: string; j: string }>(
      await db().execute(
        sql`select entry_id, to_jsonb(a)::text as j from dead_letter_attempts a order by entry_id, at, id`,
      ),
    ))
      attempts.set(r.entry_id, [...(attempts.get(r.entry_id) ?? []), r.j]);
    return { entries, attempts };
  }

  async function objects(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const info of raw.list(prefix)) keys.push(info.key);
    return keys.sort();
  }

  it("is a dataset named dlq with its own retention (DLQ_RETENTION_DAYS, default 30)", () => {
    expect(datasetByName("dlq")).toBe(DEAD_LETTER_DATASET);
    expect(datasetByName("dead_letters")).toBe(DEAD_LETTER_DATASET);
    const base = { BALLAST_ENV: "development", BALLAST_DATA_DIR: dataDir };
    expect(loadConfig(base).cleanup.deadLetterRetentionDays).toBe(30);
    expect(loadConfig({ ...base, DLQ_RETENTION_DAYS: "7" }).cleanup.deadLetterRetentionDays).toBe(
      7,
    );
    for (const bad of ["0", "-3", "1.5", "ten", "99999"])
      expect(() => loadConfig({ ...base, DLQ_RETENTION_DAYS: bad })).toThrow(/DLQ_RETENTION_DAYS/);
  });

  it("the cleanup archives ended entries past retention with their attempts, verifies, deletes them; open entries stay", async () => {
    const recent = new Date(now.getTime() - 5 * DAY_MS);
    // Ended 40 days ago: archived.
    await endAt(await entry("resolved-old", old, 3), old);
    await db().execute(
      sql`update dead_letters set status = 'resolved', resolution = 'succeeded in a later run' where id = ${ids["resolved-old"]}`,
    );
    await discardDeadLetter(
      db(),
      await entry("discarded-old", old, 2),
      "ops",
      "the file was removed",
    );
    await endAt(ids["discarded-old"] as string, new Date(old.getTime() + 3_600_000));
    // Ended 5 days ago: within retention.
    await discardDeadLetter(db(), await entry("discarded-recent", recent), "ops", "known flaky");
    await endAt(ids["discarded-recent"] as string, recent);
    // Open, however old: awaiting recovery (pending, redriven) or an operator (parked).
    await entry("pending-old", old, 2);
    await entry("parked-old", old);
    await db().execute(
      sql`update dead_letters set status = 'parked' where id = ${ids["parked-old"]}`,
    );
    await retryDeadLetter(db(), await entry("redriven-old", old), "ops", "dlq:test");
    // Even with an (inconsistent) old end time, an open entry is not expirable.
    await endAt(ids["pending-old"] as string, old);
    const before = await snapshot();
    original = before;
    expect(before.entries.size).toBe(6);
    expect(before.attempts.get(ids["resolved-old"] as string)).toHaveLength(3);
    expect(before.attempts.get(ids["discarded-old"] as string)).toHaveLength(3); // 2 failed + discard

    const cutoff = cutoffDay(now, 30);
    expect(await expiredDays(db(), DEAD_LETTER_DATASET, cutoff)).toEqual([
      { day: oldDay, rows: 2 },
    ]);

    const outcome = await runInline(
      cleanupWorkflow,
      {
        id: "cleanup-dlq",
        name: requestedEventName("cleanup"),
        data: { at: now.toISOString(), requestedBy: "test", correlationId: "test:cleanup-dlq" },
      },
      {
        deps: async () => (rt as TestRuntime).deps,
        log: (rt as TestRuntime).log,
        workflows,
        sleep: async () => {},
      },
    );
    if (!outcome.ok) throw outcome.error;
    const [run] = (await listCleanupRuns(db(), 1)) as CleanupRun[];
    expect(run?.status).toBe("succeeded");
    expect(run?.counts).toMatchObject({
      "dead_letters.archivedRows": 2,
      "dead_letters.deletedRows": 2,
      "dead_letters.days": 1,
    });
    expect(JSON.stringify(run?.plan)).toContain(`"dataset":"dead_letters"`);

    // Gone from the database with their attempts; the open and the recent entries untouched.
    const after = await snapshot();
    expect([...after.entries.keys()].sort()).toEqual(
      ["discarded-recent", "pending-old", "parked-old", "redriven-old"]
        .map((n) => ids[n] as string)
        .sort(),
    );
    for (const [id, row] of after.entries) expect(row).toBe(before.entries.get(id));
    for (const [id, rows] of after.attempts) expect(rows).toEqual(before.attempts.get(id));
    expect(after.attempts.has(ids["resolved-old"] as string)).toBe(false);

    // In the store: gzipped JSON Lines + manifest, each line an entry with its attempts.
    expect(await objects(`dlq/${oldDay}/`)).toEqual([
      `dlq/${oldDay}/part-0001.jsonl.gz`,
      `dlq/${oldDay}/part-0001.manifest.json`,
    ]);
    const [manifest] = await dayManifests(rt?.archive as ArchiveStore, DEAD_LETTER_DATASET, oldDay);
    if (!manifest) throw new Error("no manifest");
    expect(manifest).toMatchObject({ dataset: "dead_letters", rows: 2, timeColumn: "resolved_at" });
    await verifyPart(rt?.archive as ArchiveStore, manifest);
    const lines = gunzipSync((await raw.get(manifest.key)).body)
      .toString("utf8")
      .split("\n")
      .filter(Boolean)
      .map(
        (l) => JSON.parse(l) as { id: string; status: string; _dead_letter_attempts: unknown[] },
      );
    expect(lines.map((l) => [l.status, l._dead_letter_attempts.length])).toEqual([
      ["resolved", 3],
      ["discarded", 3],
    ]);

    // A second cleanup finds nothing more to archive.
    const again = await runInline(
      cleanupWorkflow,
      {
        id: "cleanup-dlq-2",
        name: requestedEventName("cleanup"),
        data: { at: now.toISOString(), requestedBy: "test", correlationId: "test:cleanup-dlq-2" },
      },
      {
        deps: async () => (rt as TestRuntime).deps,
        log: (rt as TestRuntime).log,
        workflows,
        sleep: async () => {},
      },
    );
    if (!again.ok) throw again.error;
    expect(await objects(`dlq/${oldDay}/`)).toHaveLength(2);

    // Restored exactly: the entries and every attempt, to the microsecond.
    const restored = await restoreDay(
      db(),
      rt?.archive as ArchiveStore,
      DEAD_LETTER_DATASET,
      oldDay,
    );
    expect(restored).toEqual({ parts: 1, rows: 2, inserted: 2 });
    const back = await snapshot();
    expect(back.entries).toEqual(before.entries);
    expect(back.attempts).toEqual(before.attempts);
    // Restoring again inserts nothing twice (entries nor attempts).
    expect(
      (await restoreDay(db(), rt?.archive as ArchiveStore, DEAD_LETTER_DATASET, oldDay)).inserted,
    ).toBe(0);
    expect((await snapshot()).attempts).toEqual(before.attempts);
  });

  it("a tampered DLQ archive is caught at verify and restores nothing", async () => {
    await db().execute(
      sql`delete from dead_letters where id in (${ids["resolved-old"]}, ${ids["discarded-old"]})`,
    );
    const store = rt?.archive as ArchiveStore;
    const [manifest] = await dayManifests(store, DEAD_LETTER_DATASET, oldDay);
    if (!manifest) throw new Error("no manifest");
    const original = (await raw.get(manifest.key)).body;
    const tampered = Buffer.from(original);
    const at = Math.floor(tampered.length / 2);
    tampered.writeUInt8(tampered.readUInt8(at) ^ 0x01, at);
    await raw.put(manifest.key, tampered, { contentType: "application/gzip" });
    await expect(verifyPart(store, manifest)).rejects.toBeInstanceOf(ArchiveVerificationError);
    await expect(restoreDay(db(), store, DEAD_LETTER_DATASET, oldDay)).rejects.toBeInstanceOf(
      ArchiveVerificationError,
    );
    expect((await snapshot()).entries.has(ids["resolved-old"] as string)).toBe(false);
    await raw.put(manifest.key, original, { contentType: "application/gzip" });
    await verifyPart(store, manifest);
  });

  it("ballast traces restore --dataset dlq verifies and restores the day through the real CLI", async () => {
    // The two archived entries are gone again (the tamper test deleted them); the CLI process
    // opens this data directory, so this one closes it first.
    await rt?.close();
    rt = undefined;
    const env = s3Env;
    const bad = await runCli(["traces", "restore", "--dataset", "nope", "--day", oldDay], {
      dataDir,
      env,
    });
    expect(bad.code, describeResult(bad)).not.toBe(0);
    expect(bad.stderr).toMatch(/--dataset must be one of traces, ledger, outbox, webhooks, dlq/);
    const badDay = await runCli(["traces", "restore", "--dataset", "dlq", "--day", "2026-13-45"], {
      dataDir,
      env,
    });
    expect(badDay.code, describeResult(badDay)).not.toBe(0);
    expect(badDay.stderr).toMatch(/not a (calendar )?day/);
    const none = await runCli(["traces", "restore", "--dataset", "dlq", "--day", "2020-01-01"], {
      dataDir,
      env,
    });
    expect(none.code, describeResult(none)).toBe(1);
    expect(none.stderr).toMatch(/no dlq archive of 2020-01-01/);

    const dry = await runCli(
      ["traces", "restore", "--dataset", "dlq", "--day", oldDay, "--dry-run"],
      {
        dataDir,
        env,
      },
    );
    expect(dry.code, describeResult(dry)).toBe(0);
    expect(dry.stdout).toContain(
      `${oldDay} dlq: 1 archive parts verified, 2 rows would be restored`,
    );
    const done = await runCli(["traces", "restore", "--dataset", "dlq", "--day", oldDay], {
      dataDir,
      env,
    });
    expect(done.code, describeResult(done)).toBe(0);
    expect(done.stdout).toContain(`${oldDay} dlq: 1 archive parts verified, 2 of 2 rows restored`);

    await open();
    const back = await snapshot();
    expect(back.entries).toEqual(original?.entries);
    expect(back.attempts).toEqual(original?.attempts);
  }, 600_000);
});
