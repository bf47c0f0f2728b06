import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as fireTestPost } from "../../app/api/admin/alerts/[rule]/fire-test/route";
import { POST as approvePost } from "../../app/api/admin/alerts/channels/[channel]/approve/route";
import { GET as alertsGet } from "../../app/api/admin/alerts/route";
import { GET as healthGet } from "../../app/api/health/route";
import { createApiKey } from "../../lib/auth/api-keys";
import { listAudit } from "../../lib/auth/audit";
import { installPeerAddressStamp, PEER_HEADER } from "../../lib/http/client-address";
import { setRuntime } from "../../lib/runtime";
import { type HttpReceiver, startHttpReceiver } from "../support/alert-receivers";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

type Handler<P> = (request: Request, context: { params: Promise<P> }) => Promise<Response>;

function call<P>(handler: Handler<P>, params: P, init: { key?: string; method?: string } = {}) {
  const headers: Record<string, string> = { [PEER_HEADER]: "192.0.2.7" };
  if (init.key) headers.authorization = `Bearer ${init.key}`;
  return handler(
    new Request("http://localhost/api/admin/alerts", { method: init.method ?? "GET", headers }),
    {
      params: Promise.resolve(params),
    },
  );
}

describe("admin alerts API", () => {
  let rt: TestRuntime;
  let slack: HttpReceiver;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    installPeerAddressStamp();
    slack = await startHttpReceiver();
    rt = await createTestRuntime({
      OUTBOUND_ALLOW_HOSTS: "127.0.0.1",
      ALERT_SLACK_WEBHOOK_URL: `${slack.url}/services/secret-path`,
      ALERT_SLACK_MODE: "live",
      ALERT_WEBHOOK_URL: "http://127.0.0.1:9/never",
      ALERT_WEBHOOK_SECRET: "admin-test-secret-000001",
    });
    setRuntime(rt);
    for (const role of ["viewer", "operator", "admin"])
      keys[role] = (
        await createApiKey(rt.db, { name: `${role}-key`, role, createdBy: "test" })
      ).key;
  });
  afterAll(async () => {
    setRuntime(undefined);
    await rt.close();
    await slack.close();
  });

  it("lists rules, channels and guardrails to a viewer, never a channel URL; 401 without a key", async () => {
    expect((await call(alertsGet, {})).status).toBe(401);
    const response = await call(alertsGet, {}, { key: keys.viewer });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).not.toContain("secret-path");
    expect(text).not.toContain("admin-test-secret");
    const body = JSON.parse(text);
    expect(body.rules).toHaveLength(11);
    expect(body.channels).toEqual([
      expect.objectContaining({ id: "slack", mode: "live", approved: false, breaker: "closed" }),
      expect.objectContaining({ id: "webhook", mode: "log-only", approved: false }),
    ]);
  });

  it("fire-test needs the admin role; an unapproved channel is reported, not delivered", async () => {
    expect(
      (await call(fireTestPost, { rule: "dlq-depth" }, { key: keys.operator, method: "POST" }))
        .status,
    ).toBe(403);
    const held = await call(
      fireTestPost,
      { rule: "dlq-depth" },
      { key: keys.admin, method: "POST" },
    );
    expect(held.status).toBe(502);
    const report = await held.json();
    expect(report.ok).toBe(false);
    expect(report.firing).toEqual([
      expect.objectContaining({
        channel: "slack",
        status: "awaiting_approval",
        reason: expect.stringMatching(/awaits an admin's approval/),
      }),
      expect.objectContaining({ channel: "webhook", status: "awaiting_approval" }),
    ]);
    expect(slack.received).toHaveLength(0);
  });

  it("after approval, fire-test delivers and answers with the timestamps; log-only records", async () => {
    expect(
      (await call(approvePost, { channel: "slack" }, { key: keys.operator, method: "POST" }))
        .status,
    ).toBe(403);
    for (const channel of ["slack", "webhook"])
      expect(
        (await call(approvePost, { channel }, { key: keys.admin, method: "POST" })).status,
      ).toBe(200);
    const response = await call(
      fireTestPost,
      { rule: "error-rate" },
      { key: keys.admin, method: "POST" },
    );
    const report = await response.json();
    expect(response.status, JSON.stringify(report)).toBe(200);
    expect(report).toMatchObject({ rule: "error-rate", ok: true });
    for (const field of ["raisedAt", "deliveredAt", "resolvedAt", "resolvedDeliveredAt"])
      expect(Date.parse(report[field]), field).toBeGreaterThan(0);
    expect(Date.parse(report.deliveredAt)).toBeGreaterThanOrEqual(Date.parse(report.raisedAt));
    expect(Date.parse(report.resolvedDeliveredAt)).toBeGreaterThanOrEqual(
      Date.parse(report.resolvedAt),
    );
    expect(report.firing.map((o: { status: string }) => o.status)).toEqual(["sent", "logged"]);
    expect(slack.received).toHaveLength(2);
    const audit = await listAudit(rt.db, { limit: 50 });
    expect(
      audit.some(
        (a) => a.action === "alerts.fire_test" && a.result === "ok" && a.target === "error-rate",
      ),
    ).toBe(true);
  });

  it("refuses unknown and hostile rule or channel names with 4xx JSON", async () => {
    const unknown = await call(fireTestPost, { rule: "nope" }, { key: keys.admin, method: "POST" });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.message).toMatch(/no alert rule "nope"/);
    const hostile = await call(
      fireTestPost,
      { rule: "../../etc/passwd" },
      { key: keys.admin, method: "POST" },
    );
    expect(hostile.status).toBe(422);
    const text = await hostile.text();
    expect(text).not.toContain("passwd");
    const channel = await call(
      approvePost,
      { channel: "pager<script>" },
      { key: keys.admin, method: "POST" },
    );
    expect(channel.status).toBe(422);
    expect(await channel.text()).not.toContain("<script>");
  });

  it("/api/health shows each outbound integration's mode", async () => {
    const response = await healthGet(
      new Request("http://localhost/api/health", { headers: { [PEER_HEADER]: "192.0.2.7" } }),
    );
    const body = await response.json();
    expect(body.integrations).toEqual({
      "alerts.slack": { mode: "live", configured: true },
      "alerts.webhook": { mode: "log-only", configured: true },
      "alerts.email": { mode: "off", configured: false },
      "embedding.local": { mode: "live", configured: true },
    });
  });
});
