/**
 * The same GitHub delivery twice, on the embedded defaults end to end: the webhook route
 * persists and dispatches the push, the embedded runner syncs the source from a loopback
 * GitHub and embeds through a loopback OpenAI. The delivery then arrives again (GitHub's
 * "Redeliver", or a retry after a lost acknowledgement), after the run has finished: it is
 * acknowledged as a duplicate and changes nothing — no new row in any table, no embedding
 * request, no GitHub request.
 */
import webhookDefinitions from "@octokit/webhooks-examples";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as webhookPost } from "../../app/api/webhooks/github/route";
import { rowsOf } from "../../db/client";
import { listRuns } from "../../lib/pipeline/runs";
import { addSource, type SourceRecord } from "../../lib/pipeline/source-records";
import { getEmbeddedRunner, startWorkflowRunner, stopWorkflowRunner } from "../../lib/runner";
import { setRuntime } from "../../lib/runtime";
import { signGitHubPayload } from "../../lib/webhooks/github-signature";
import { FakeGitHub } from "../support/fake-github";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fake-openai";
import { createTestRepo, removeTempDirs, type TestRepo } from "../support/git-repo";
import { freshFullSyncSnapshot, snapshotIndex } from "../support/index-snapshot";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

const SECRET = "whsec-duplicate-delivery-secret-0001";
const API_KEY = "sk-duplicate-delivery-key-00000000001";
const report = (line: string) => process.stdout.write(`${line}\n`);

function pushPayload(after: string): Record<string, unknown> {
  const examples = (
    webhookDefinitions as { name: string; examples: Record<string, unknown>[] }[]
  ).find((d) => d.name === "push")?.examples;
  const push = examples?.find((p) => p.ref === "refs/heads/master" && p.deleted === false);
  if (!push) throw new Error("no branch push example");
  const payload = structuredClone(push);
  const repository = payload.repository as Record<string, unknown>;
  repository.full_name = "octo/service";
  repository.default_branch = "master";
  payload.before = "0".repeat(40);
  payload.after = after;
  return payload;
}

function delivery(id: string, payload: unknown): Request {
  const raw = JSON.stringify(payload);
  return new Request("http://localhost/api/webhooks/github", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": "push",
      "x-github-delivery": id,
      "x-hub-signature-256": signGitHubPayload(SECRET, raw),
    },
    body: raw,
  });
}

/** Rows in every table of the database. */
async function rowCounts(rt: TestRuntime): Promise<Record<string, number>> {
  const tables = rowsOf<{ table_name: string }>(
    await rt.db.execute(
      sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`,
    ),
  ).map((t) => t.table_name);
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const [row] = rowsOf<{ n: number }>(
      await rt.db.execute(sql`select count(*)::int as n from ${sql.identifier(table)}`),
    );
    counts[table] = Number(row?.n ?? 0);
  }
  return counts;
}

describe("the same webhook delivery twice", () => {
  let rt: TestRuntime;
  let repo: TestRepo;
  let github: FakeGitHub;
  let openai: FakeOpenAI;
  let source: SourceRecord;

  beforeAll(async () => {
    repo = await createTestRepo();
    await repo.writeMany({
      "README.md": "# Octo\n\nThe octo service.\n\n## Deploy\n\nDeploy with the release script.\n",
      "src/server.ts": "export function startServer(port: number) {\n  return listen(port);\n}\n",
      "src/routes.ts": "export const routes = ['/health', '/search'];\n",
      "docs/ops.md": "# Ops\n\nRestart the workers when the queue stalls.\n",
    });
    await repo.commit("initial");
    github = await FakeGitHub.start({ repos: { "octo/service": repo.dir } });
    openai = await startFakeOpenAI({ apiKey: API_KEY });
    rt = await createTestRuntime({
      GITHUB_API_URL: github.url,
      GITHUB_TOKEN: github.token,
      GITHUB_WEBHOOK_SECRET: SECRET,
      INNGEST_RUNNER: "embedded",
      SYNC_BATCH_SIZE: "2",
      EMBEDDING_PROVIDER: "openai",
      EMBEDDING_DIMENSIONS: "64",
      OPENAI_API_KEY: API_KEY,
      OPENAI_BASE_URL: openai.baseUrl,
    });
    setRuntime(rt);
    await startWorkflowRunner(rt, { crons: false, pollMs: 50 });
    source = await addSource(rt.db, { kind: "github", location: "octo/service", name: "octo" });
  });
  afterAll(async () => {
    await stopWorkflowRunner();
    setRuntime(undefined);
    await rt.close();
    await github.close();
    await openai.close();
    await removeTempDirs();
  });

  it("indexes on the first delivery; the redelivery adds no row and calls no provider or GitHub", async () => {
    const runner = getEmbeddedRunner();
    expect(runner).toBeDefined();
    const payload = pushPayload(await repo.head());
    const id = "7f9c2e10-dup0-11ef-8000-000000000001";

    const first = await webhookPost(delivery(id, payload));
    expect(first.status).toBe(202);
    await runner?.idle();
    const runs = await listRuns(rt.db, { sourceId: source.id, limit: 10 });
    expect(runs.map((r) => r.run.status)).toEqual(["succeeded"]);
    expect(runs[0]?.run.processed).toBe(4);
    const embeddingCalls = openai.requests.length;
    const githubCalls = github.requests.length;
    expect(embeddingCalls).toBeGreaterThan(0);
    const rowsBefore = await rowCounts(rt);
    const index = await snapshotIndex(rt.db, source.id);

    const second = await webhookPost(delivery(id, payload));
    expect(second.status).toBe(200);
    expect(((await second.json()) as { duplicate?: boolean }).duplicate).toBe(true);
    await runner?.idle();

    expect(openai.requests.length).toBe(embeddingCalls);
    expect(github.requests.length).toBe(githubCalls);
    expect(await rowCounts(rt)).toEqual(rowsBefore);
    expect(await snapshotIndex(rt.db, source.id)).toEqual(index);
    const [row] = rowsOf<{ duplicates: number }>(
      await rt.db.execute(sql`select duplicates from webhook_deliveries where delivery_id = ${id}`),
    );
    expect(row?.duplicates).toBe(1);

    // The index is the one a clean sync of the same commit builds.
    const clean = await freshFullSyncSnapshot(rt, repo.dir);
    expect(index).toEqual(clean);
    report(
      `same delivery twice: first 202, run succeeded (4 docs), ${embeddingCalls} embedding + ${githubCalls} GitHub requests; ` +
        `second 200 duplicate: +${openai.requests.length - embeddingCalls} embedding, +${github.requests.length - githubCalls} GitHub requests, ` +
        `${Object.values(rowsBefore).reduce((a, b) => a + b, 0)} rows before and after`,
    );
  }, 120_000);
});
