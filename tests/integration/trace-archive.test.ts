import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../../db/client";
import { archiveParts } from "../../db/schema";
import type { ArchiveStore } from "../../lib/archive";
import {
  ArchiveVerificationError,
  archiveDay,
  countDay,
  dayManifests,
  expireArchives,
  expiredDays,
  restoreDay,
  verifyPart,
} from "../../lib/retention/archive";
import { TRACE_DATASET } from "../../lib/retention/datasets";
import type { TracedArchiveStore } from "../../lib/traces/external";
import { randomSpanId, traceIdFor } from "../../lib/traces/ids";
import { expectNoPlanted, PLANTED, plantedError } from "../support/planted-secrets";
import { createTestRuntime, type TestRuntime } from "../support/runtime";
import { type S3TestServer, startS3Server } from "../support/s3-server";

/**
 * Archive-before-delete against a real S3-protocol server (s3rver) and PGlite: the nothing-lost
 * cases of the issue, each on its own day of trace rows.
 */
describe("trace archives: archive, verify, delete, restore", () => {
  let s3: S3TestServer;
  let rt: TestRuntime;
  let store: ArchiveStore;
  let raw: ArchiveStore;

  beforeAll(async () => {
    s3 = await startS3Server();
    rt = await createTestRuntime({
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_FORCE_PATH_STYLE: "true",
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      GITHUB_WEBHOOK_SECRET: PLANTED.configured,
    });
    store = rt.archive;
    raw = (rt.archive as TracedArchiveStore).unwrapped;
    expect(store.backend).toBe("s3");
  });
  afterAll(async () => {
    await rt?.close();
    await s3?.close();
  });

  /** `n` spans on `day`, some failed with every planted secret in the error, through the tracer. */
  async function seed(day: string, n: number): Promise<void> {
    const start = Date.parse(`${day}T00:00:00Z`);
    for (let i = 0; i < n; i++) {
      const at = new Date(start + Math.floor((i * 86_399_000) / n));
      const failed = i % 10 === 0;
      rt.tracer.record({
        spanId: randomSpanId(),
        traceId: traceIdFor(`seed:${day}:${i % 7}`),
        parentSpanId: null,
        correlationId: `seed:${day}:${i % 7}`,
        kind: i % 3 === 0 ? "external" : "step",
        name: i % 3 === 0 ? "git.fetch" : "process-batch",
        function: "process-batch",
        driver: "inline",
        runId: null,
        sourceId: null,
        eventId: `evt-${i}`,
        attempt: 1 + (i % 2),
        status: failed ? "error" : "ok",
        errorClass: failed ? "UnavailableError" : null,
        errorMessage: failed ? plantedError().message : null,
        startedAt: at,
        endedAt: new Date(at.getTime() + 12),
        durationMs: 12.345,
        input: { type: "object", bytes: 10, counts: { batch: i } },
        output: { type: "object", bytes: 20, counts: { processed: i % 5 } },
        attributes: { headers: { authorization: `Bearer ${PLANTED.bearer}` }, user: PLANTED.email },
      });
    }
    await rt.tracer.flush();
  }

  async function dayRows(day: string): Promise<string[]> {
    const rows = rowsOf<{ j: string }>(
      await rt.db.execute(sql`
        select to_jsonb(t)::text as j from trace_spans t
        where started_at >= ${`${day}T00:00:00Z`}::timestamptz
          and started_at < (${`${day}T00:00:00Z`}::timestamptz + interval '1 day')
        order by span_id`),
    );
    return rows.map((r) => r.j);
  }

  async function dayObjects(day: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const info of raw.list(`traces/${day}/`)) keys.push(info.key);
    return keys.sort();
  }

  it("archives an expired day as gzipped JSON Lines + manifest, verifies, deletes, and restores it exactly", async () => {
    await seed("2026-09-01", 250);
    await seed("2026-11-30", 5); // not expired
    const before = await dayRows("2026-09-01");
    expect(before).toHaveLength(250);
    const days = await expiredDays(rt.db, TRACE_DATASET, "2026-11-01");
    expect(days).toContainEqual({ day: "2026-09-01", rows: 250 });
    expect(days.some((d) => d.day === "2026-11-30")).toBe(false);

    const dry = await archiveDay(rt.db, store, TRACE_DATASET, "2026-09-01", { dryRun: true });
    expect(dry.wouldArchive).toBe(250);
    expect(await dayObjects("2026-09-01")).toEqual([]);
    expect(await countDay(rt.db, TRACE_DATASET, "2026-09-01")).toBe(250);

    const outcome = await archiveDay(rt.db, store, TRACE_DATASET, "2026-09-01", { pageSize: 64 });
    expect(outcome).toMatchObject({ written: 1, resumed: 0, archivedRows: 250, deletedRows: 250 });
    expect(await countDay(rt.db, TRACE_DATASET, "2026-09-01")).toBe(0);
    expect(await countDay(rt.db, TRACE_DATASET, "2026-11-30")).toBe(5);
    expect(await dayObjects("2026-09-01")).toEqual([
      "traces/2026-09-01/part-0001.jsonl.gz",
      "traces/2026-09-01/part-0001.manifest.json",
    ]);
    const [manifest] = await dayManifests(store, TRACE_DATASET, "2026-09-01");
    expect(manifest).toMatchObject({ rows: 250, dataset: "trace_spans", part: 1 });
    const [recorded] = await rt.db.select().from(archiveParts);
    expect(recorded).toMatchObject({ day: "2026-09-01", rows: 250, deletedRows: 250 });

    // The archive holds no secret or personal data either.
    const gz = (await raw.get("traces/2026-09-01/part-0001.jsonl.gz")).body;
    const text = gunzipSync(gz).toString("utf8");
    expect(text.split("\n").filter(Boolean)).toHaveLength(250);
    expectNoPlanted(text);

    const restored = await restoreDay(rt.db, store, TRACE_DATASET, "2026-09-01");
    expect(restored).toEqual({ parts: 1, rows: 250, inserted: 250 });
    expect(await dayRows("2026-09-01")).toEqual(before);
    // A second restore inserts nothing twice.
    expect((await restoreDay(rt.db, store, TRACE_DATASET, "2026-09-01")).inserted).toBe(0);
  });

  it("after dying between the archive write and the delete, the next run finishes: nothing lost, nothing archived twice", async () => {
    await seed("2026-09-02", 120);
    const before = await dayRows("2026-09-02");
    await expect(
      archiveDay(rt.db, store, TRACE_DATASET, "2026-09-02", {
        beforeDelete: () => {
          throw new Error("the process died");
        },
      }),
    ).rejects.toThrow("the process died");
    expect(await countDay(rt.db, TRACE_DATASET, "2026-09-02")).toBe(120);
    expect(await dayObjects("2026-09-02")).toHaveLength(2);

    const next = await archiveDay(rt.db, store, TRACE_DATASET, "2026-09-02");
    expect(next).toMatchObject({ written: 0, resumed: 1, archivedRows: 0, deletedRows: 120 });
    expect(await countDay(rt.db, TRACE_DATASET, "2026-09-02")).toBe(0);
    expect(await dayObjects("2026-09-02")).toEqual([
      "traces/2026-09-02/part-0001.jsonl.gz",
      "traces/2026-09-02/part-0001.manifest.json",
    ]);
    await restoreDay(rt.db, store, TRACE_DATASET, "2026-09-02");
    expect(await dayRows("2026-09-02")).toEqual(before);
  });

  it("rows that arrive for a day after its archive go to a second part, never into the first again", async () => {
    await seed("2026-09-03", 40);
    await archiveDay(rt.db, store, TRACE_DATASET, "2026-09-03");
    await seed("2026-09-03", 7);
    const late = await archiveDay(rt.db, store, TRACE_DATASET, "2026-09-03");
    expect(late).toMatchObject({ written: 1, resumed: 1, archivedRows: 7, deletedRows: 7 });
    const manifests = await dayManifests(store, TRACE_DATASET, "2026-09-03");
    expect(manifests.map((m) => [m.part, m.rows])).toEqual([
      [1, 40],
      [2, 7],
    ]);
    expect((await restoreDay(rt.db, store, TRACE_DATASET, "2026-09-03")).inserted).toBe(47);
  });

  it("detects a one-byte tamper at verify and at restore, deleting and restoring nothing", async () => {
    await seed("2026-09-04", 60);
    const before = await dayRows("2026-09-04");
    await expect(
      archiveDay(rt.db, store, TRACE_DATASET, "2026-09-04", {
        beforeDelete: () => {
          throw new Error("the process died");
        },
      }),
    ).rejects.toThrow("the process died");
    const [manifest] = await dayManifests(store, TRACE_DATASET, "2026-09-04");
    if (!manifest) throw new Error("no manifest");
    // Rewritten through the store with one byte changed: the store's own checksum is valid,
    // the manifest's is not.
    const body = flipByte(Buffer.from((await raw.get(manifest.key)).body), 0.5);
    await raw.put(manifest.key, body, { contentType: "application/gzip" });
    await expect(verifyPart(store, manifest)).rejects.toBeInstanceOf(ArchiveVerificationError);
    const resumed = archiveDay(rt.db, store, TRACE_DATASET, "2026-09-04");
    await expect(resumed).rejects.toBeInstanceOf(ArchiveVerificationError);
    await expect(resumed).rejects.toThrow(/nothing was deleted/);
    expect(await dayRows("2026-09-04")).toEqual(before);

    // The same part tampered on the server's disk (behind the store's back): caught by the
    // store's checksum on read, reported as a verification failure; restore inserts nothing.
    await rt.db.execute(
      sql`delete from trace_spans where started_at >= '2026-09-04' and started_at < '2026-09-05'`,
    );
    await raw.put(
      manifest.key,
      Buffer.from(body.map((b, i) => (i === Math.floor(body.length / 2) ? b ^ 0x01 : b))),
      {
        contentType: "application/gzip",
      },
    );
    await verifyPart(store, manifest); // the original bytes again
    const file = await findObjectFile(s3.dir, manifest.key);
    await writeFile(file, flipByte(await readFile(file), 0.9));
    await expect(verifyPart(store, manifest)).rejects.toBeInstanceOf(ArchiveVerificationError);
    await expect(restoreDay(rt.db, store, TRACE_DATASET, "2026-09-04")).rejects.toBeInstanceOf(
      ArchiveVerificationError,
    );
    expect(await countDay(rt.db, TRACE_DATASET, "2026-09-04")).toBe(0);
  });

  it("expires archives older than the archive retention, manifest first; --dry-run only lists", async () => {
    const dry = await expireArchives(rt.db, store, TRACE_DATASET, "2026-09-02", { dryRun: true });
    expect(dry.days).toEqual(["2026-09-01"]);
    expect(await dayObjects("2026-09-01")).toHaveLength(2);
    const done = await expireArchives(rt.db, store, TRACE_DATASET, "2026-09-02");
    expect(done).toEqual({ days: ["2026-09-01"], objects: 2 });
    expect(await dayObjects("2026-09-01")).toEqual([]);
    expect(await dayObjects("2026-09-02")).toHaveLength(2);
  });

  it("deletes nothing when the archive store is down, and says why", async () => {
    await seed("2026-09-05", 30);
    await s3.close();
    const attempt = archiveDay(rt.db, store, TRACE_DATASET, "2026-09-05");
    await expect(attempt).rejects.toMatchObject({ code: "archive_unavailable" });
    await expect(attempt).rejects.toThrow(/archive|S3|reach/i);
    expect(await countDay(rt.db, TRACE_DATASET, "2026-09-05")).toBe(30);
  });
});

/** The bytes with one bit of one byte (at `where` × length) flipped. */
function flipByte(bytes: Buffer, where: number): Buffer {
  const out = Buffer.from(bytes);
  const at = Math.floor(out.length * where);
  out.writeUInt8((out.readUInt8(at) ^ 0x01) & 0xff, at);
  return out;
}

/** s3rver keeps an object's bytes in a file named after its key. */
async function findObjectFile(dir: string, key: string): Promise<string> {
  const walk = async (at: string): Promise<string | undefined> => {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) {
        const found = await walk(full);
        if (found) return found;
      } else if (full.endsWith(`${path.sep}${key}._S3rver_object`)) return full;
    }
    return undefined;
  };
  const found = await walk(dir);
  if (!found) throw new Error(`no s3rver file for ${key}`);
  return found;
}
