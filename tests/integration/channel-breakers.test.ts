import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as resetPost } from "../../app/api/admin/breakers/[name]/reset/route";
import { GET as breakersGet } from "../../app/api/admin/breakers/route";
import { GET as healthGet } from "../../app/api/health/route";
import {
  approveChannel,
  deliverNotifications,
  listNotifications,
  planNotifications,
} from "../../lib/alerts/notify";
import { alertsOverview } from "../../lib/alerts/overview";
import { raiseAlert } from "../../lib/alerts/records";
import { createApiKey } from "../../lib/auth/api-keys";
import { checkHealth } from "../../lib/health/check";
import { notifyConfigOf } from "../../lib/monitoring/monitor";
import { setRuntime } from "../../lib/runtime";
import { type HttpReceiver, startHttpReceiver } from "../support/alert-receivers";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

const print = (line: string) => process.stdout.write(`${line}\n`);

interface BreakerView {
  name: string;
  state: string;
  consecutiveFailures: number;
  options: { failureThreshold: number; openMs: number };
}

/**
 * Notification channels use the shared circuit breakers (`alerts.<channel>`): a Slack
 * receiver on loopback that answers 503 opens `alerts.slack` after 3 deliveries; the breaker
 * then shows in GET /api/admin/breakers, /api/health and the alerts overview, the admin reset
 * closes it, and deliveries wait (kept) while it is open — no request reaches the receiver.
 */
describe("notification channels on the shared breaker registry", () => {
  let rt: TestRuntime;
  let slack: HttpReceiver;
  let admin: string;

  beforeAll(async () => {
    slack = await startHttpReceiver();
    rt = await createTestRuntime({
      OUTBOUND_ALLOW_HOSTS: "127.0.0.1",
      ALERT_SLACK_WEBHOOK_URL: `${slack.url}/services/T000/B000/xyz`,
      ALERT_SLACK_MODE: "live",
    });
    setRuntime(rt);
    await approveChannel(rt.db, rt.config.monitoring, "slack", "test-admin");
    admin = (await createApiKey(rt.db, { name: "root", role: "admin", createdBy: "t" })).key;
  });
  afterAll(async () => {
    setRuntime(undefined);
    await rt.close();
    await slack.close();
  });

  const breakers = async (): Promise<BreakerView[]> => {
    const res = await breakersGet(
      new Request("http://localhost/api/admin/breakers", {
        headers: { authorization: `Bearer ${admin}` },
      }),
      { params: Promise.resolve({} as never) },
    );
    expect(res.status).toBe(200);
    return ((await res.json()) as { breakers: BreakerView[] }).breakers;
  };

  it("opens alerts.slack after 3 failed deliveries, shows it everywhere, holds deliveries, and resets", async () => {
    const names = (await breakers()).map((b) => b.name);
    expect(names).toEqual(["embedding:openai", "embedding:cohere", "github", "s3", "alerts.slack"]);
    const slackBreaker = (await breakers()).find((b) => b.name === "alerts.slack");
    expect(slackBreaker).toMatchObject({
      state: "closed",
      options: { failureThreshold: 3, openMs: 60_000 },
    });

    slack.status = 503;
    const cfg = notifyConfigOf({ config: rt.config, breakers: rt.breakers });
    for (let i = 0; i < 3; i++)
      await raiseAlert(rt.db, {
        key: `sync.failed:chan-${i}`,
        rule: "sync.failed",
        severity: "critical",
        summary: `channel test ${i}`,
      });
    await planNotifications(rt.db, cfg, new Date());
    // One pass: three sends fail (503), the third opens the breaker.
    const first = await deliverNotifications(rt.db, cfg, new Date());
    expect(first.failed).toBe(3);
    expect(slack.attempts).toBe(3);

    const open = (await breakers()).find((b) => b.name === "alerts.slack");
    expect(open?.state).toBe("open");
    const health = (await (await healthGet(new Request("http://localhost/api/health"))).json()) as {
      parts: Record<string, { status: string; detail?: string }>;
    };
    expect(health.parts.breakers?.status).toBe("degraded");
    // The public route says degraded; the full report names the breaker.
    const report = await checkHealth(rt);
    expect(report.parts.breakers?.detail).toMatch(/alerts\.slack open until/);
    const overview = await alertsOverview(rt.db, rt.config.monitoring, rt.breakers);
    expect(overview.channels.find((c) => c.id === "slack")).toMatchObject({
      breaker: "open",
    });

    // While open: due notifications wait (kept pending), nothing reaches the receiver.
    await raiseAlert(rt.db, {
      key: "sync.failed:chan-late",
      rule: "sync.failed",
      severity: "critical",
      summary: "while open",
    });
    await planNotifications(rt.db, cfg, new Date());
    const held = await deliverNotifications(rt.db, cfg, new Date());
    expect(held.sent).toBe(0);
    expect(slack.attempts).toBe(3);
    const [late] = await listNotifications(rt.db, { alertKey: "sync.failed:chan-late" });
    expect(late?.status).toBe("pending");
    expect(late?.reason).toMatch(/breaker open/);

    // An unknown name is refused with the known ones; the admin reset closes it.
    const bogus = await resetPost(
      new Request("http://localhost/x", {
        method: "POST",
        headers: { authorization: `Bearer ${admin}` },
      }),
      { params: Promise.resolve({ name: "alerts.pager" } as never) },
    );
    expect(bogus.status).toBe(422);
    expect(JSON.stringify(await bogus.json())).toContain("alerts.slack");
    const reset = await resetPost(
      new Request("http://localhost/x", {
        method: "POST",
        headers: { authorization: `Bearer ${admin}` },
      }),
      { params: Promise.resolve({ name: "alerts.slack" } as never) },
    );
    expect(reset.status).toBe(200);
    expect((await breakers()).find((b) => b.name === "alerts.slack")?.state).toBe("closed");

    slack.status = 200;
    const resumed = await deliverNotifications(rt.db, cfg, new Date(Date.now() + 3_600_000));
    expect(resumed.sent).toBe(4);
    expect(slack.received).toHaveLength(4);
    expect(slack.attempts).toBe(7);
    print(
      `channel breaker alerts.slack: 3 × 503 → open (receiver saw 3); while open 0 sent, 1 kept pending; ` +
        `reset → closed; after: ${resumed.sent} sent (receiver: ${slack.attempts} requests, ${slack.received.length} answered 200)`,
    );
  }, 120_000);
});
