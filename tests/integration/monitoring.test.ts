import { eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { notifications } from "../../db/schema";
import { verifyWebhookSignature } from "../../lib/alerts/channels";
import { approveChannel, listNotifications } from "../../lib/alerts/notify";
import { raiseAlert, resolveAlert } from "../../lib/alerts/records";
import { recordSample } from "../../lib/monitoring/series";
import { requestedEventName } from "../../lib/workflows/events";
import { runInline } from "../../lib/workflows/inline";
import { monitorWorkflow } from "../../lib/workflows/monitor";
import {
  type HttpReceiver,
  type SmtpReceiver,
  startHttpReceiver,
  startSmtpReceiver,
} from "../support/alert-receivers";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

const SECRET = "webhook-secret-0123456789";
const MIN = 60_000;

/**
 * The monitor workflow end to end through the inline driver: figures → rules → alert records
 * → notification outbox → guardrails → real channels (a loopback Slack-style receiver, a
 * loopback signed-webhook receiver, a loopback SMTP server).
 */
describe("monitor workflow and alert delivery", () => {
  let slack: HttpReceiver;
  let hook: HttpReceiver;
  let smtp: SmtpReceiver;
  const runtimes: TestRuntime[] = [];

  beforeAll(async () => {
    [slack, hook, smtp] = await Promise.all([
      startHttpReceiver(),
      startHttpReceiver(),
      startSmtpReceiver(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([slack.close(), hook.close(), smtp.close()]);
  });
  afterEach(async () => {
    slack.received.length = 0;
    hook.received.length = 0;
    smtp.received.length = 0;
    slack.status = 200;
    while (runtimes.length > 0) await runtimes.pop()?.close();
  });

  async function runtime(env: Record<string, string> = {}, approve = true): Promise<TestRuntime> {
    const rt = await createTestRuntime({
      OUTBOUND_ALLOW_HOSTS: "127.0.0.1",
      ALERT_SLACK_WEBHOOK_URL: `${slack.url}/services/T000/B000/xyz`,
      ALERT_SLACK_MODE: "live",
      ALERT_WEBHOOK_URL: `${hook.url}/ballast`,
      ALERT_WEBHOOK_SECRET: SECRET,
      ALERT_WEBHOOK_MODE: "live",
      ALERT_SMTP_URL: smtp.url,
      ALERT_EMAIL_FROM: "ballast@example.com",
      ALERT_EMAIL_TO: "oncall@example.com",
      ALERT_EMAIL_MODE: "live",
      ...env,
    });
    runtimes.push(rt);
    if (approve)
      for (const c of rt.config.monitoring.channels)
        await approveChannel(rt.db, rt.config.monitoring, c.id, "test-admin");
    return rt;
  }

  async function tick(rt: TestRuntime, at: Date) {
    const outcome = await runInline(
      monitorWorkflow,
      {
        id: `monitor-${at.toISOString()}`,
        name: requestedEventName("monitor"),
        data: { at: at.toISOString() },
      },
      { deps: async () => rt.deps, log: rt.log, workflows: [monitorWorkflow] },
    );
    if (!outcome.ok) throw new Error(`monitor failed: ${JSON.stringify(outcome)}`);
    return outcome.result as { fired: string[]; resolved: string[] };
  }

  const base = () => {
    const t = new Date();
    t.setUTCSeconds(0, 0);
    return t;
  };
  const at = (t0: Date, minutes: number) => new Date(t0.getTime() + minutes * MIN);
  const kinds = (bodies: string[]) =>
    bodies.map((b) =>
      /\[FIRING\]/.test(b) ? "firing" : /\[RESOLVED\]/.test(b) ? "resolved" : "?",
    );

  it("sends exactly one firing and one resolved per incident to Slack, the signed webhook and SMTP", async () => {
    const rt = await runtime();
    const t0 = base();
    await recordSample(rt.db, "replay_pass_rate", 0.8, { at: at(t0, -1) });
    expect((await tick(rt, t0)).fired).toEqual(["replay-pass-rate"]);
    await tick(rt, at(t0, 5)); // still firing: nothing new
    await recordSample(rt.db, "replay_pass_rate", 0.99, { at: at(t0, 9) });
    expect((await tick(rt, at(t0, 10))).resolved).toEqual(["replay-pass-rate"]);
    await tick(rt, at(t0, 15));

    expect(kinds(slack.received.map((r) => JSON.parse(r.body).text))).toEqual([
      "firing",
      "resolved",
    ]);
    expect(slack.received[0]?.path).toBe("/services/T000/B000/xyz");
    expect(JSON.parse(slack.received[0]?.body ?? "{}").text).toMatch(
      /Replay pass rate below 95 %: 80\.0 %/,
    );
    expect(kinds(smtp.received.map((m) => m.subject))).toEqual(["firing", "resolved"]);
    expect(smtp.received[0]?.to).toEqual(["oncall@example.com"]);

    // The generic webhook: signed, and the signature verifies at the receiver.
    expect(hook.received.map((r) => JSON.parse(r.body).kind)).toEqual(["firing", "resolved"]);
    for (const r of hook.received) {
      const headers = {
        timestamp: r.headers["x-ballast-timestamp"] as string,
        signature: r.headers["x-ballast-signature"] as string,
      };
      expect(verifyWebhookSignature(SECRET, headers, r.body)).toBe(true);
      expect(verifyWebhookSignature(SECRET, headers, `${r.body} `)).toBe(false);
      expect(verifyWebhookSignature("another-secret-0000", headers, r.body)).toBe(false);
    }
    const stale = hook.received[0];
    if (stale)
      expect(
        verifyWebhookSignature(
          SECRET,
          {
            timestamp: stale.headers["x-ballast-timestamp"] as string,
            signature: stale.headers["x-ballast-signature"] as string,
          },
          stale.body,
          { now: Date.now() + 10 * MIN },
        ),
      ).toBe(false);
  });

  it("delivers alert records raised by other workflows through the same path", async () => {
    const rt = await runtime({ ALERT_WEBHOOK_MODE: "off", ALERT_EMAIL_MODE: "off" });
    const t0 = base();
    await raiseAlert(rt.db, {
      key: "sync.failed:src-1",
      rule: "sync.failed",
      severity: "critical",
      summary: "sync of src-1 failed",
    });
    await tick(rt, t0);
    await resolveAlert(rt.db, "sync.failed:src-1", "the next sync succeeded");
    await tick(rt, at(t0, 5));
    const texts = slack.received.map((r) => JSON.parse(r.body).text as string);
    expect(kinds(texts)).toEqual(["firing", "resolved"]);
    expect(texts[1]).toMatch(/the next sync succeeded/);
    // Channels that are off record why nothing went out.
    const off = await listNotifications(rt.db, { alertKey: "sync.failed:src-1" });
    expect(off.filter((n) => n.channel !== "slack").map((n) => n.status)).toEqual([
      "suppressed",
      "suppressed",
      "suppressed",
      "suppressed",
    ]);
    expect(off.find((n) => n.channel === "email")?.reason).toMatch(/channel email is off/);
  });

  it("a flapping condition inside the cooldown sends one firing", async () => {
    const rt = await runtime({
      ALERT_WEBHOOK_MODE: "off",
      ALERT_EMAIL_MODE: "off",
      ALERT_RULES: JSON.stringify({ "replay-pass-rate": { resolveFor: "15m", cooldown: "1h" } }),
    });
    const t0 = base();
    const values = [0.8, 0.99, 0.8, 0.99, 0.8, 0.99, 0.99, 0.99, 0.99, 0.8, 0.99, 0.99, 0.99, 0.99];
    for (const [i, v] of values.entries()) {
      await recordSample(rt.db, "replay_pass_rate", v, { at: at(t0, i * 5 - 1) });
      await tick(rt, at(t0, i * 5));
    }
    // Flapping never held clear for 15 min until t+40: one firing, one resolved; the refire at
    // t+45 fell inside the 1 h cooldown: recorded, not sent; so was its resolution.
    expect(kinds(slack.received.map((r) => JSON.parse(r.body).text))).toEqual([
      "firing",
      "resolved",
    ]);
    const rows = await listNotifications(rt.db, { alertKey: "replay-pass-rate" });
    const slackRows = rows.filter((n) => n.channel === "slack").reverse();
    expect(slackRows.map((n) => [n.kind, n.status])).toEqual([
      ["firing", "sent"],
      ["resolved", "sent"],
      ["firing", "suppressed"],
      ["resolved", "suppressed"],
    ]);
    expect(slackRows[2]?.reason).toMatch(/^cooldown: /);
  });

  it("the hourly limit suppresses the (N+1)th notification and records why", async () => {
    const rt = await runtime({
      ALERT_WEBHOOK_MODE: "off",
      ALERT_EMAIL_MODE: "off",
      ALERT_LIMIT_HOURLY: "3",
    });
    for (let i = 1; i <= 4; i++)
      await raiseAlert(rt.db, {
        key: `sync.failed:s${i}`,
        rule: "sync.failed",
        severity: "critical",
        summary: `sync ${i} failed`,
      });
    await tick(rt, base());
    expect(slack.received).toHaveLength(3);
    const suppressed = (await listNotifications(rt.db, { status: "suppressed" })).filter(
      (n) => n.channel === "slack",
    );
    expect(suppressed).toHaveLength(1);
    expect(suppressed[0]?.reason).toMatch(/hourly limit of 3 notifications reached/);
  });

  it("outside working hours a warning waits and a critical goes out", async () => {
    const rt = await runtime({
      ALERT_WEBHOOK_MODE: "off",
      ALERT_EMAIL_MODE: "off",
      ALERT_WORKING_HOURS: "09:00-18:00",
      ALERT_WORKING_DAYS: "mon-fri",
      ALERT_TIME_ZONE: "Europe/Paris",
    });
    // Wednesday 2 December 2026, 22:00 in Paris (21:00 UTC): outside the window.
    const night = new Date("2026-12-02T21:00:00Z");
    await raiseAlert(rt.db, {
      key: "w:1",
      rule: "sync.failed",
      severity: "warning",
      summary: "a warning",
    });
    await raiseAlert(rt.db, {
      key: "c:1",
      rule: "sync.failed",
      severity: "critical",
      summary: "a critical",
    });
    await tick(rt, night);
    expect(slack.received.map((r) => JSON.parse(r.body).text)).toEqual([
      expect.stringMatching(/a critical/),
    ]);
    const [waiting] = (await listNotifications(rt.db, { alertKey: "w:1" })).filter(
      (n) => n.channel === "slack",
    );
    expect(waiting?.status).toBe("delayed");
    expect(waiting?.reason).toMatch(
      /outside working hours \(09:00-18:00 mon,tue,wed,thu,fri Europe\/Paris\)/,
    );
    // Thursday 09:00 in Paris is 08:00 UTC.
    expect(waiting?.nextAttemptAt).toBe("2026-12-03T08:00:00.000Z");
    await tick(rt, new Date("2026-12-03T07:55:00Z"));
    expect(slack.received).toHaveLength(1);
    await tick(rt, new Date("2026-12-03T08:00:00Z"));
    expect(slack.received.map((r) => JSON.parse(r.body).text)).toEqual([
      expect.stringMatching(/a critical/),
      expect.stringMatching(/a warning/),
    ]);
  });

  it("log-only sends nothing and records everything", async () => {
    const rt = await runtime({
      ALERT_SLACK_MODE: "log-only",
      ALERT_WEBHOOK_MODE: "log-only",
      ALERT_EMAIL_MODE: "log-only",
    });
    const t0 = base();
    await recordSample(rt.db, "replay_pass_rate", 0.5, { at: at(t0, -1) });
    await tick(rt, t0);
    await recordSample(rt.db, "replay_pass_rate", 1, { at: at(t0, 4) });
    await tick(rt, at(t0, 5));
    expect(slack.received).toHaveLength(0);
    expect(hook.received).toHaveLength(0);
    expect(smtp.received).toHaveLength(0);
    const rows = await rt.db
      .select()
      .from(notifications)
      .where(eq(notifications.alertKey, "replay-pass-rate"));
    expect(rows).toHaveLength(6);
    for (const row of rows) {
      expect(row.status).toBe("logged");
      expect(row.reason).toMatch(/log-only/);
      expect(String(row.receipt?.text)).toMatch(/\[(FIRING|RESOLVED)\]/);
    }
  });

  it("holds a new channel until an admin approves it, then delivers", async () => {
    const rt = await runtime({ ALERT_WEBHOOK_MODE: "off", ALERT_EMAIL_MODE: "off" }, false);
    const t0 = base();
    await raiseAlert(rt.db, {
      key: "sync.failed:n",
      rule: "sync.failed",
      severity: "critical",
      summary: "new channel test",
    });
    await tick(rt, t0);
    expect(slack.received).toHaveLength(0);
    const [held] = (await listNotifications(rt.db, { alertKey: "sync.failed:n" })).filter(
      (n) => n.channel === "slack",
    );
    expect(held?.status).toBe("awaiting_approval");
    expect(held?.reason).toMatch(/new channel slack \(127\.0\.0\.1\) awaits an admin's approval/);
    expect((await approveChannel(rt.db, rt.config.monitoring, "slack", "admin")).released).toBe(1);
    await tick(rt, at(t0, 5));
    expect(slack.received).toHaveLength(1);
  });

  it("keeps notifications while a channel is down, opens its breaker, and delivers when it is back", async () => {
    const rt = await runtime({ ALERT_WEBHOOK_MODE: "off", ALERT_EMAIL_MODE: "off" });
    slack.status = 503;
    const t0 = base();
    await raiseAlert(rt.db, {
      key: "sync.failed:down",
      rule: "sync.failed",
      severity: "critical",
      summary: "while down",
    });
    for (let i = 0; i < 4; i++) await tick(rt, at(t0, i * 60));
    const [row] = (await listNotifications(rt.db, { alertKey: "sync.failed:down" })).filter(
      (n) => n.channel === "slack",
    );
    expect(row?.status).toBe("pending");
    expect(row?.reason).toMatch(/breaker open|retry at/);
    slack.status = 200;
    await tick(rt, at(t0, 5 * 60));
    // The notification kept while the channel was down, and the breaker-open rule's own alert
    // (the channel's breaker stayed open for more than 10 minutes).
    const texts = slack.received.map((r) => JSON.parse(r.body).text as string);
    expect(texts).toHaveLength(2);
    expect(texts.some((t) => /\[FIRING\] \[critical\] while down/.test(t))).toBe(true);
    expect(
      texts.some((t) =>
        /A circuit breaker open for more than 10 minutes \(breaker alerts\.slack\)/.test(t),
      ),
    ).toBe(true);
    const [after] = (await listNotifications(rt.db, { alertKey: "sync.failed:down" })).filter(
      (n) => n.channel === "slack",
    );
    expect(after?.status).toBe("sent");
  });

  it("refuses a channel URL the outbound policy forbids, and says so", async () => {
    const rt = await createTestRuntime({
      ALERT_SLACK_WEBHOOK_URL: `${slack.url}/x`,
      ALERT_SLACK_MODE: "live",
    });
    runtimes.push(rt);
    await approveChannel(rt.db, rt.config.monitoring, "slack", "admin");
    await raiseAlert(rt.db, {
      key: "sync.failed:ssrf",
      rule: "sync.failed",
      severity: "critical",
      summary: "ssrf",
    });
    await tick(rt, base());
    expect(slack.received).toHaveLength(0);
    const [row] = await listNotifications(rt.db, { alertKey: "sync.failed:ssrf" });
    expect(row?.status).toBe("dead");
    expect(row?.reason).toMatch(/refused by the outbound URL policy: .*loopback/);
  });
});
