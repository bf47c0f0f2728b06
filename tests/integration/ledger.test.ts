import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as syncPost } from "../../app/api/admin/sources/[id]/sync/route";
import { rowsOf } from "../../db/client";
import { ledgerEntries } from "../../db/schema";
import { createApiKey } from "../../lib/auth/api-keys";
import { installPeerAddressStamp, PEER_HEADER } from "../../lib/http/client-address";
import { recordRunOutcome } from "../../lib/ledger/pipeline";
import { indexDigest, type LedgerRow, runEntries } from "../../lib/ledger/record";
import { addSource, type SourceRecord } from "../../lib/pipeline/source-records";
import { cutoffDay, expiredDays, restoreDay } from "../../lib/retention/archive";
import { archiveExpiredDay } from "../../lib/retention/cleanup";
import { LEDGER_DATASET } from "../../lib/retention/datasets";
import { setRuntime } from "../../lib/runtime";
import { signGitHubPayload } from "../../lib/webhooks/github-signature";
import { receiveGitHubWebhook } from "../../lib/webhooks/receive-github";
import { runInline } from "../../lib/workflows/inline";
import { scheduleSyncsWorkflow } from "../../lib/workflows/schedule-syncs";
import { syncSourceLocally } from "../../lib/workflows/sync-now";
import { createTestRepo, removeTempDirs, type TestRepo } from "../support/git-repo";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

const TOKEN = "ghp_plantedLedgerToken0000000000000000001";
const WEBHOOK_SECRET = "whsec-ledger-test-secret-0001";
/** Text that appears only inside a file: it must never reach the ledger. */
const CONTENT_MARKER = "zebra-quokka-content-marker-42";

async function allEntries(rt: TestRuntime): Promise<LedgerRow[]> {
  return rt.db.select().from(ledgerEntries).orderBy(ledgerEntries.id);
}

describe("parity ledger", () => {
  let rt: TestRuntime;
  let repo: TestRepo;
  let source: SourceRecord;

  beforeAll(async () => {
    installPeerAddressStamp();
    rt = await createTestRuntime({
      GITHUB_TOKEN: TOKEN,
      GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
      CHUNK_SIZE: "400",
      CHUNK_OVERLAP: "40",
      SYNC_BATCH_SIZE: "3",
    });
    setRuntime(rt);
    repo = await createTestRepo();
    await repo.writeMany({
      "README.md": `# Demo\n\nSetup notes. ${CONTENT_MARKER}\n`,
      "src/a.ts": "export const a = 1;\n".repeat(40),
      "src/b.ts": "export function b() {\n  return 2;\n}\n",
      // A secret in a path: the ledger records paths, so it must be scrubbed there.
      [`notes/${TOKEN}.txt`]: "a note\n",
      "image.png": Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]),
    });
    await repo.commit("initial");
    source = await addSource(rt.db, { kind: "git", location: repo.dir, name: "ledger-demo" });
  });
  afterAll(async () => {
    setRuntime(undefined);
    await rt.close();
    await removeTempDirs();
  });

  it("records a run's plan, batches and outcome with the index digest, scrubbed, without contents", async () => {
    const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "full" });
    expect(run.status).toBe("succeeded");
    const entries = await runEntries(rt.db, [run.id]);
    const plan = entries.find((e) => e.kind === "plan");
    const batches = entries.filter((e) => e.kind === "batch");
    const outcome = entries.find((e) => e.kind === "run");
    expect(plan?.key).toBe(`plan:${run.id}`);
    expect(batches.length).toBe(run.batchesTotal);
    expect(outcome?.correlationId).toBe(run.correlationId);

    const planData = plan?.data as {
      planned: [string, string, string | null][];
      cursorBefore: { commit: string | null };
      mode: string;
    };
    expect(planData.mode).toBe("full");
    expect(planData.cursorBefore.commit).toBeNull();
    const planned = new Map(planData.planned.map(([p, action, blob]) => [p, { action, blob }]));
    expect(planned.get("src/a.ts")?.blob).toMatch(/^[0-9a-f]{40}$/);
    expect([...planned.keys()]).toContain("notes/[REDACTED].txt");

    const docs = batches.flatMap(
      (b) =>
        (b.data as { documents: { path: string; contentHash?: string; chunks?: string[] }[] })
          .documents,
    );
    const a = docs.find((d) => d.path === "src/a.ts");
    expect(a?.contentHash).toBe(
      createHash("sha256").update("export const a = 1;\n".repeat(40)).digest("hex"),
    );
    expect(a?.chunks?.length).toBeGreaterThan(1);
    const embedding = batches.map((b) => (b.data as { embedding: { tokens: number } }).embedding);
    expect(embedding.reduce((s, e) => s + e.tokens, 0)).toBeGreaterThan(0);

    const data = outcome?.data as {
      index: { digest: string; chunks: number };
      cursorAfter: { commit: string };
      status: string;
    };
    expect(data.status).toBe("succeeded");
    expect(data.cursorAfter.commit).toBe(await repo.head());
    // The digest: sha256 over the sorted (path, chunk content hash) pairs.
    const pairs = rowsOf<{ path: string; content_hash: string }>(
      await rt.db.execute(
        sql`select path, content_hash from chunks where source_id = ${source.id} order by path collate "C", content_hash collate "C"`,
      ),
    );
    const hash = createHash("sha256");
    for (const p of pairs) hash.update(`${p.path}\0${p.content_hash}\n`);
    expect(data.index.digest).toBe(hash.digest("hex"));
    expect(data.index.chunks).toBe(pairs.length);

    const text = JSON.stringify(await allEntries(rt));
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(CONTENT_MARKER);
  });

  it("records an incremental run's cursor before and after and the chunks written and deleted", async () => {
    const before = await repo.head();
    await repo.write("src/a.ts", "export const a = 2;\n".repeat(40));
    await repo.remove("src/b.ts");
    const after = await repo.commit("edit");
    const run = await syncSourceLocally(rt.deps, { sourceId: source.id, mode: "incremental" });
    const entries = await runEntries(rt.db, [run.id]);
    const plan = entries.find((e) => e.kind === "plan")?.data as {
      cursorBefore: { commit: string };
      planned: [string, string, string | null][];
    };
    expect(plan.cursorBefore.commit).toBe(before);
    expect(plan.planned.map(([p, action]) => `${action} ${p}`).sort()).toEqual([
      "delete src/b.ts",
      "upsert src/a.ts",
    ]);
    const docs = entries
      .filter((e) => e.kind === "batch")
      .flatMap(
        (b) =>
          (
            b.data as {
              documents: {
                path: string;
                written?: string[];
                deleted?: string[];
                chunksDeleted: number;
              }[];
            }
          ).documents,
      );
    const a = docs.find((d) => d.path === "src/a.ts");
    expect(a?.written?.length).toBeGreaterThan(0);
    expect(a?.deleted?.length).toBeGreaterThan(0);
    expect(docs.find((d) => d.path === "src/b.ts")?.chunksDeleted).toBeGreaterThan(0);
    const outcome = entries.find((e) => e.kind === "run")?.data as {
      cursorAfter: { commit: string };
      index: { digest: string };
    };
    expect(outcome.cursorAfter.commit).toBe(after);
    expect(outcome.index).toEqual(await indexDigest(rt.db, source.id));
  });

  it("is idempotent: recording a run's outcome again adds nothing", async () => {
    const [latest] = rowsOf<{ id: string }>(
      await rt.db.execute(sql`select id from sync_runs order by queued_at desc limit 1`),
    );
    const count = (await allEntries(rt)).length;
    expect(await recordRunOutcome(rt.deps, latest?.id ?? "")).toBe(false);
    expect((await allEntries(rt)).length).toBe(count);
  });

  it("records inbound events: a webhook delivery, an admin request and a cron tick", async () => {
    const body = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 7 });
    const answer = await receiveGitHubWebhook(
      {
        db: rt.db,
        log: rt.log,
        secret: WEBHOOK_SECRET,
        maxBodyBytes: 1 << 20,
        send: async () => {},
        ledger: { secrets: rt.config.secrets },
      },
      new Request("http://localhost/api/webhooks/github", {
        method: "POST",
        headers: {
          "x-github-delivery": "ledger-delivery-1",
          "x-github-event": "ping",
          "x-hub-signature-256": signGitHubPayload(WEBHOOK_SECRET, body),
        },
        body,
      }),
    );
    expect(answer.status).toBe(200);

    const { key } = await createApiKey(rt.db, {
      name: "ledger-op",
      role: "operator",
      createdBy: "t",
    });
    const response = await syncPost(
      new Request(`http://localhost/api/admin/sources/${source.id}/sync`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${key}`,
          [PEER_HEADER]: "192.0.2.9",
          "x-request-id": "ledger-admin-1",
        },
        body: "{}",
      }),
      { params: Promise.resolve({ id: source.id }) },
    );
    expect(response.status).toBe(202);

    const outcome = await runInline(
      scheduleSyncsWorkflow,
      { name: "workflow/schedule-syncs.requested", data: { at: "2026-12-01T06:00:00Z" } },
      { deps: async () => rt.deps, log: rt.log, workflows: [] },
    );
    expect(outcome.ok).toBe(true);

    const events = (await allEntries(rt)).filter((e) => e.kind === "event");
    const byName = new Map(events.map((e) => [e.name, e]));
    expect(byName.get("github.webhook")?.correlationId).toBe("github:ledger-delivery-1");
    expect(byName.get("github.webhook")?.data).toMatchObject({
      event: "ping",
      outcome: "accepted",
    });
    const admin = byName.get("admin.request");
    expect(admin?.correlationId).toBe("admin:ledger-admin-1");
    expect(admin?.data).toMatchObject({ action: "sources.sync", status: 202 });
    const tick = byName.get("cron.tick");
    expect(tick?.data).toMatchObject({
      workflow: "schedule-syncs",
      tick: "2026-12-01T06:00:00.000Z",
    });
    expect((tick?.data as { runs: string[] } | undefined)?.runs).toHaveLength(0); // the admin run is still queued
    expect(JSON.stringify(events)).not.toContain(WEBHOOK_SECRET);
  });

  it("writes nothing with LEDGER_ENABLED=false", async () => {
    const off = await createTestRuntime({ LEDGER_ENABLED: "false" });
    try {
      const other = await addSource(off.db, { kind: "git", location: repo.dir, name: "off" });
      const run = await syncSourceLocally(off.deps, { sourceId: other.id, mode: "full" });
      expect(run.status).toBe("succeeded");
      expect(await off.db.select().from(ledgerEntries)).toHaveLength(0);
    } finally {
      await off.close();
    }
  });

  it("is archived by the cleanup like traces: verified before the rows go, and restored exactly", async () => {
    const total = (await allEntries(rt)).length;
    await rt.db.execute(
      sql`update ledger_entries set recorded_at = now() - interval '20 days' where kind = 'batch'`,
    );
    const old = (await allEntries(rt)).filter((e) => e.kind === "batch");
    expect(old.length).toBeGreaterThan(0);
    // The ledger's retention (14 days by default) is the cleanup's for this dataset.
    const cutoff = cutoffDay(
      new Date(),
      LEDGER_DATASET.retentionDays({
        traceRetentionDays: 30,
        ledgerRetentionDays: rt.config.ledger.retentionDays,
        outboxRetentionDays: 7,
        webhookRetentionDays: 30,
        deadLetterRetentionDays: 30,
      }),
    );
    const days = await expiredDays(rt.db, LEDGER_DATASET, cutoff);
    expect(days.reduce((sum, d) => sum + d.rows, 0)).toBe(old.length);
    let deleted = 0;
    for (const { day } of days)
      deleted += (await archiveExpiredDay(rt.db, rt.archive, "ledger", day)).deletedRows;
    expect(deleted).toBe(old.length);
    expect((await allEntries(rt)).length).toBe(total - old.length);
    expect(JSON.stringify(await allEntries(rt))).not.toContain('"kind":"batch"');
    // Nothing left to archive; a restore brings the same rows back.
    expect(await expiredDays(rt.db, LEDGER_DATASET, cutoff)).toEqual([]);
    for (const { day } of days) await restoreDay(rt.db, rt.archive, LEDGER_DATASET, day);
    const back = (await allEntries(rt)).filter((e) => e.kind === "batch");
    expect(back.map((e) => e.key).sort()).toEqual(old.map((e) => e.key).sort());
    expect(JSON.stringify(back.map((e) => e.data))).toBe(JSON.stringify(old.map((e) => e.data)));
  });
});
