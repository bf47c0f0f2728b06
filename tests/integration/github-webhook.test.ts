import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import webhookDefinitions from "@octokit/webhooks-examples";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as webhookPost } from "../../app/api/webhooks/github/route";
import { rowsOf } from "../../db/client";
import { eventApiSender } from "../../lib/outbox/event-api";
import { dispatchOutbox, outboxStats } from "../../lib/outbox/outbox";
import { listRuns } from "../../lib/pipeline/runs";
import { addSource, getSource, type SourceRecord } from "../../lib/pipeline/source-records";
import { setRuntime } from "../../lib/runtime";
import { signGitHubPayload } from "../../lib/webhooks/github-signature";
import { receiveGitHubWebhook, type WebhookDeps } from "../../lib/webhooks/receive-github";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

const SECRET = "whsec-test-secret-for-signatures-0001";

/** The real example payloads GitHub published, by event name. */
function examples(event: string): Record<string, unknown>[] {
  const definition = (
    webhookDefinitions as { name: string; examples: Record<string, unknown>[] }[]
  ).find((d) => d.name === event);
  if (!definition) throw new Error(`no examples for ${event}`);
  return definition.examples;
}
const branchPush = () => {
  const push = examples("push").find((p) => p.ref === "refs/heads/master" && p.deleted === false);
  if (!push) throw new Error("no branch push example");
  return structuredClone(push);
};

let deliveries = 0;
function delivery(
  event: string,
  body: unknown,
  options: { secret?: string; signature?: string | null; id?: string } = {},
): Request {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-github-event": event,
    "x-github-delivery": options.id ?? `delivery-${++deliveries}-${Date.now()}`,
  };
  const signature =
    options.signature === undefined
      ? signGitHubPayload(options.secret ?? SECRET, raw)
      : options.signature;
  if (signature !== null) headers["x-hub-signature-256"] = signature;
  return new Request("http://localhost/api/webhooks/github", {
    method: "POST",
    headers,
    body: raw,
  });
}

/** A loopback stand-in for Inngest's event API: it can be down (connection refused) or up. */
class FakeEventApi {
  received: { id: string; name: string; data: Record<string, unknown> }[] = [];
  private server: Server | undefined;
  port = 0;
  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        this.received.push(...(JSON.parse(body) as FakeEventApi["received"]));
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ status: 200, ids: [] }));
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    this.port = (server.address() as AddressInfo).port;
  }
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

describe("POST /api/webhooks/github", () => {
  let rt: TestRuntime;
  let source: SourceRecord;
  let deps: WebhookDeps;
  const inngest = new FakeEventApi();

  beforeAll(async () => {
    rt = await createTestRuntime({
      GITHUB_WEBHOOK_SECRET: SECRET,
      WEBHOOK_MAX_BODY_BYTES: "65536",
    });
    setRuntime(rt);
    source = await addSource(rt.db, {
      kind: "github",
      location: "Codertocat/Hello-World",
      name: "hello",
    });
    // Find a free port, then leave it closed: Inngest is unreachable until started.
    await inngest.start();
    const port = inngest.port;
    await inngest.stop();
    inngest.port = port;
    deps = {
      db: rt.db,
      log: rt.log,
      secret: SECRET,
      maxBodyBytes: 65536,
      send: eventApiSender({
        ...rt.config.inngest,
        dev: true,
        devServerUrl: `http://127.0.0.1:${port}`,
        baseUrl: undefined,
      }),
    };
  });
  afterAll(async () => {
    await inngest.stop().catch(() => {});
    setRuntime(undefined);
    await rt.close();
  });

  it("answers ping with 200", async () => {
    const answer = await receiveGitHubWebhook(deps, delivery("ping", examples("ping")[0]));
    expect(answer.status).toBe(200);
    expect(answer.body.outcome).toBe("accepted");
  });

  it("persists a push before acknowledging it, and re-sends it once Inngest is reachable again", async () => {
    const id = "push-outage-1";
    const answer = await receiveGitHubWebhook(deps, delivery("push", branchPush(), { id }));
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ outcome: "accepted", queued: 1, dispatched: 0 });
    const [run] = await listRuns(rt.db, { sourceId: source.id, limit: 1 });
    expect(run?.run.status).toBe("queued");
    expect(run?.run.trigger).toBe("webhook");
    expect(await outboxStats(rt.db)).toMatchObject({ pending: 1 });

    await inngest.start(inngest.port);
    const flushed = await dispatchOutbox(rt.db, deps.send, {
      now: new Date(Date.now() + 3_600_000),
    });
    expect(flushed).toEqual({ sent: 1, failed: 0 });
    expect(inngest.received).toHaveLength(1);
    expect(inngest.received[0]).toMatchObject({
      id: `github:${id}:${source.id}`,
      name: "source/sync.requested",
      data: {
        sourceId: source.id,
        mode: "incremental",
        trigger: "webhook",
        dedupeKey: `github:${id}:${source.id}`,
      },
    });
    expect(await outboxStats(rt.db)).toMatchObject({ sent: 1 });
  });

  it("acknowledges a duplicate delivery without processing it twice", async () => {
    const runsBefore = (await listRuns(rt.db, { sourceId: source.id, limit: 100 })).length;
    const id = "push-dup-1";
    const first = await receiveGitHubWebhook(deps, delivery("push", branchPush(), { id }));
    expect(first.status).toBe(202);
    const second = await receiveGitHubWebhook(deps, delivery("push", branchPush(), { id }));
    expect(second.status).toBe(200);
    expect(second.body.duplicate).toBe(true);
    expect((await listRuns(rt.db, { sourceId: source.id, limit: 100 })).length).toBe(
      runsBefore + 1,
    );
    const [row] = rowsOf<{ duplicates: number }>(
      await rt.db.execute(sql`select duplicates from webhook_deliveries where delivery_id = ${id}`),
    );
    expect(row?.duplicates).toBe(1);
  });

  it("answers 202 and records the reason for pushes it ignores", async () => {
    const unknownRepo = branchPush();
    (unknownRepo.repository as { full_name: string }).full_name = "someone/else";
    const ignored = await receiveGitHubWebhook(deps, delivery("push", unknownRepo));
    expect(ignored.status).toBe(202);
    expect(ignored.body).toMatchObject({ outcome: "ignored", queued: 0 });
    expect(String(ignored.body.detail)).toContain("no active source tracks someone/else@master");

    const tag = examples("push").find((p) => String(p.ref).startsWith("refs/tags/"));
    const tagAnswer = await receiveGitHubWebhook(deps, delivery("push", tag));
    expect(tagAnswer.status).toBe(202);
    expect(tagAnswer.body.outcome).toBe("ignored");

    const star = await receiveGitHubWebhook(deps, delivery("star", examples("star")[0]));
    expect(star.status).toBe(202);
    expect(star.body.outcome).toBe("ignored");
  });

  it("links and unlinks sources on installation events", async () => {
    const installation = structuredClone(
      examples("installation_repositories")[0] as Record<string, unknown>,
    );
    installation.action = "added";
    installation.repositories_added = [
      {
        id: 1,
        node_id: "x",
        name: "Hello-World",
        full_name: "Codertocat/Hello-World",
        private: false,
      },
    ];
    installation.repositories_removed = [];
    const answer = await receiveGitHubWebhook(
      deps,
      delivery("installation_repositories", installation),
    );
    expect(answer.status).toBe(202);
    const linked = await getSource(rt.db, source.id);
    expect(linked.githubInstallationId).toBe((installation.installation as { id: number }).id);
  });

  it("rejects a bad or missing signature with 401 and stores nothing", async () => {
    const count = async () =>
      rowsOf<{ n: number }>(
        await rt.db.execute(sql`select count(*)::int as n from webhook_deliveries`),
      )[0]?.n;
    const before = await count();
    for (const request of [
      delivery("push", branchPush(), { secret: "wrong-secret" }),
      delivery("push", branchPush(), { signature: null }),
      delivery("push", branchPush(), { signature: "sha256=deadbeef" }),
      delivery("push", branchPush(), { signature: "sha1=0123" }),
    ]) {
      await expect(receiveGitHubWebhook(deps, request)).rejects.toMatchObject({ status: 401 });
    }
    const tampered = delivery("push", branchPush());
    const body = (await tampered.text()).replace("Hello-World", "Hello-Worle");
    await expect(
      receiveGitHubWebhook(
        deps,
        new Request(tampered.url, { method: "POST", headers: tampered.headers, body }),
      ),
    ).rejects.toMatchObject({ status: 401 });
    expect(await count()).toBe(before);
  });

  it("answers 413, 400 and 422 for oversized, malformed and invalid bodies through the route", async () => {
    const big = await webhookPost(delivery("push", { padding: "x".repeat(70_000) }));
    expect(big.status).toBe(413);
    const notJson = await webhookPost(delivery("push", "{not json"));
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe("invalid_json");
    const invalid = await webhookPost(delivery("push", { ref: 42 }));
    expect(invalid.status).toBe(422);
    const noDelivery = delivery("push", branchPush());
    noDelivery.headers.delete("x-github-delivery");
    const missing = await webhookPost(
      new Request(noDelivery.url, {
        method: "POST",
        headers: noDelivery.headers,
        body: await noDelivery.text(),
      }),
    );
    expect(missing.status).toBe(400);
  });

  it("accepts through the route while Inngest is unreachable: 202, run queued, event kept for later", async () => {
    const response = await webhookPost(delivery("push", branchPush(), { id: "route-outage-1" }));
    expect(response.status).toBe(202);
    const body = (await response.json()) as { dispatched: number; queued: number; runs: string[] };
    expect(body).toMatchObject({ queued: 1, dispatched: 0 });
    const [pending] = rowsOf<{ status: string; attempts: number }>(
      await rt.db.execute(
        sql`select status, attempts from outbox_events where id = ${`github:route-outage-1:${source.id}`}`,
      ),
    );
    expect(pending).toEqual({ status: "pending", attempts: 1 });
  });

  it("refuses every delivery when no secret is configured", async () => {
    await expect(
      receiveGitHubWebhook({ ...deps, secret: undefined }, delivery("ping", examples("ping")[0])),
    ).rejects.toMatchObject({
      status: 503,
      code: "webhook_not_configured",
    });
  });

  it("never logs the webhook secret", () => {
    expect(rt.logLines.join("\n")).not.toContain(SECRET);
  });
});
