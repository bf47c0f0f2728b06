import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signGitHubPayload } from "../../lib/webhooks/github-signature";
import { type AppServer, baseEnv, cli, startApp } from "../support/app-server";
import { FakeGitHub } from "../support/fake-github";
import { createTestRepo, removeTempDirs, type TestRepo } from "../support/git-repo";

/**
 * Dev-prod parity, end to end against `next start` on the embedded defaults with no Inngest
 * server: the app's embedded runner runs what the webhook, the admin API and the crons ask
 * for, the CLI works beside the running app on the same data directory, and a run's progress
 * streams as Server-Sent Events.
 */
const SECRET = "whsec-e2e-workflows-000000000001";

interface Progress {
  runId: string;
  status: string;
  phase: string;
  processed: number;
  finished: boolean;
}

/** Reads a run's SSE stream to its `end` event; returns every event seen. */
async function followEvents(
  url: string,
  key: string,
): Promise<{ event: string; data: Progress }[]> {
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${key}` },
    signal: AbortSignal.timeout(120_000),
  });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: { event: string; data: Progress }[] = [];
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut = buffer.indexOf("\n\n");
    while (cut >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const name = /^event: (.+)$/m.exec(block)?.[1];
      const data = /^data: (.+)$/m.exec(block)?.[1];
      if (name && data) events.push({ event: name, data: JSON.parse(data) as Progress });
      cut = buffer.indexOf("\n\n");
    }
    if (events.at(-1)?.event === "end") {
      await reader.cancel();
      break;
    }
  }
  return events;
}

describe("every workflow runs on the embedded defaults", () => {
  let dataDir: string;
  let repo: TestRepo;
  let github: FakeGitHub;
  let app: AppServer;
  let env: NodeJS.ProcessEnv;
  let key = "";
  let deliveries = 0;

  const api = (route: string, init: RequestInit = {}) =>
    fetch(`${app.url}${route}`, {
      ...init,
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "application/json",
        ...init.headers,
      },
    });

  const push = async (before: string, after: string, deliveryId = `e2e-push-${++deliveries}`) => {
    const body = JSON.stringify({
      ref: "refs/heads/main",
      before,
      after,
      created: false,
      deleted: false,
      forced: false,
      repository: {
        id: 1,
        name: "harbour",
        full_name: "acme/harbour",
        default_branch: "main",
        owner: { login: "acme" },
      },
      commits: [],
      head_commit: { id: after, timestamp: new Date().toISOString() },
    });
    return fetch(`${app.url}/api/webhooks/github`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-github-delivery": deliveryId,
        "x-hub-signature-256": signGitHubPayload(SECRET, body),
      },
      body,
    });
  };

  beforeAll(async () => {
    repo = await createTestRepo();
    await repo.writeMany({
      "README.md": "# Harbour\n\nBerths and tides.\n",
      "docs/signals.md": "# Signals\n\nThe bosun whistle protocol calls the crew to stations.\n",
      "src/tides.ts": "export function nextHighTide(now: Date) {\n  return now;\n}\n",
    });
    await repo.commit("initial");
    github = await FakeGitHub.start({ repos: { "acme/harbour": repo.dir } });
    dataDir = await mkdtemp(path.join(tmpdir(), "ballast-e2e-wf-"));
    env = baseEnv(dataDir, {
      GITHUB_API_URL: github.url,
      GITHUB_TOKEN: github.token,
      GITHUB_WEBHOOK_SECRET: SECRET,
    });
    app = await startApp(env);
  }, 300_000);

  afterAll(async () => {
    await app?.stop();
    await github?.close();
    await rm(dataDir, { recursive: true, force: true });
    await removeTempDirs();
  });

  it("lets the CLI work beside the running app, on the same data directory", async () => {
    const added = await cli(env, "sources", "add", "github:acme/harbour", "--name", "harbour");
    expect(added.code, added.stderr).toBe(0);
    const created = await cli(env, "keys", "create", "--name", "e2e-ops", "--role", "admin");
    expect(created.code, created.stderr).toBe(0);
    key = /blst_[A-Za-z0-9_-]+/.exec(created.stdout)?.[0] ?? "";
    expect(key).not.toBe("");
    const health = await cli(env, "health");
    expect(health.code, health.stderr).toBe(0);
    expect(health.stdout).toMatch(/workflows\s*│\s*ok\s*│\s*no\s*│\s*embedded-runner/);
    const response = await api("/api/health");
    const body = (await response.json()) as {
      parts: Record<string, { backend: string; detail: string }>;
    };
    expect(body.parts.workflows?.backend).toBe("embedded-runner");
  }, 120_000);

  it("runs an operator's sync and streams its progress until it ends", async () => {
    const requested = await api("/api/admin/sources/harbour/sync", {
      method: "POST",
      body: JSON.stringify({ mode: "full" }),
    });
    expect(requested.status).toBe(202);
    const { run } = (await requested.json()) as { run: { id: string } };
    const events = await followEvents(`${app.url}/api/admin/runs/${run.id}/events`, key);
    const end = events.at(-1);
    expect(end?.event).toBe("end");
    expect(end?.data).toMatchObject({
      runId: run.id,
      status: "succeeded",
      processed: 3,
      finished: true,
    });
    expect(events.length).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it("indexes a signed push: the new text is found, the removed text is not", async () => {
    const before = await repo.head();
    await repo.write(
      "docs/ledger.md",
      "# Ledger\n\nThe quartermaster reconciles the ledger at dawn.\n",
    );
    await repo.write("docs/signals.md", "# Signals\n\nFlags are raised at noon.\n");
    const after = await repo.commit("ledger; new signals");
    const delivered = await push(before, after, "e2e-push-main");
    expect(delivered.status).toBe(202);
    const { runs } = (await delivered.json()) as { runs: string[] };
    expect(runs).toHaveLength(1);
    const events = await followEvents(`${app.url}/api/admin/runs/${runs[0]}/events`, key);
    expect(events.at(-1)?.data.status).toBe("succeeded");

    const found = await api(
      `/api/search?q=${encodeURIComponent("quartermaster reconciles the ledger")}&k=3`,
    );
    const hits = (await found.json()) as { results: { path: string; snippet: string }[] };
    expect(hits.results[0]?.path).toBe("docs/ledger.md");
    const gone = await api(`/api/search?q=${encodeURIComponent("bosun whistle protocol")}&k=10`);
    const goneHits = (await gone.json()) as { results: { snippet: string }[] };
    for (const hit of goneHits.results) expect(hit.snippet).not.toContain("bosun whistle");

    // The CLI finds it too, while the app runs.
    const searched = await cli(env, "search", "quartermaster reconciles the ledger", "-k", "1");
    expect(searched.code, searched.stderr).toBe(0);
    expect(searched.stdout).toContain("docs/ledger.md");
  }, 180_000);

  it("treats the same delivery twice as one run", async () => {
    const runsBefore = (
      (await (await api("/api/admin/runs?source=harbour")).json()) as { runs: unknown[] }
    ).runs.length;
    const again = await push(await repo.head("HEAD~1"), await repo.head(), "e2e-push-main");
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ duplicate: true });
    const runsAfter = (
      (await (await api("/api/admin/runs?source=harbour")).json()) as { runs: unknown[] }
    ).runs.length;
    expect(runsAfter).toBe(runsBefore);
  });

  it("fires a cron for an injected tick: schedule-syncs queues every idle source once", async () => {
    const second = await createTestRepo();
    await second.writeMany({ "notes.md": "# Notes\n\nA second source.\n" });
    await second.commit("initial");
    const added = await cli(env, "sources", "add", second.dir, "--name", "notes");
    expect(added.code, added.stderr).toBe(0);
    const at = "2026-12-02T12:00:00.000Z";
    for (let i = 0; i < 2; i++) {
      const requested = await api("/api/admin/workflows/schedule-syncs/run", {
        method: "POST",
        body: JSON.stringify({ at }),
      });
      expect(requested.status).toBe(202);
    }
    const scheduledRuns = async (source: string) =>
      (
        (await (await api(`/api/admin/runs?source=${source}`)).json()) as {
          runs: { trigger: string }[];
        }
      ).runs.filter((r) => r.trigger === "schedule");
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if ((await scheduledRuns("harbour")).length > 0 && (await scheduledRuns("notes")).length > 0)
        break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(await scheduledRuns("harbour")).toHaveLength(1);
    expect(await scheduledRuns("notes")).toHaveLength(1);
    const refused = await api("/api/admin/workflows/sync-source/run", { method: "POST" });
    expect(refused.status).toBe(422);
  }, 120_000);

  it("follows a finished run from the CLI and exits with its status", async () => {
    const runs = (
      (await (await api("/api/admin/runs?source=harbour&status=succeeded")).json()) as {
        runs: { id: string }[];
      }
    ).runs;
    const followed = await cli(env, "runs", runs[0]?.id ?? "", "--follow");
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stderr).toMatch(/succeeded/);
  });
});
