import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyWebhookSignature } from "../../lib/alerts/channels";
import {
  type HttpReceiver,
  type SmtpReceiver,
  startHttpReceiver,
  startSmtpReceiver,
} from "../support/alert-receivers";
import { describeResult, runCli } from "../support/cli";

const SECRET = "cli-webhook-secret-000001";

/** `ballast alerts …` and validate-env's outbound modes, through the real CLI process. */
describe("ballast alerts (child process)", { timeout: 180_000 }, () => {
  let dataDir: string;
  let slack: HttpReceiver;
  let hook: HttpReceiver;
  let smtp: SmtpReceiver;
  let env: Record<string, string>;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "ballast-alerts-cli-"));
    [slack, hook, smtp] = await Promise.all([
      startHttpReceiver(),
      startHttpReceiver(),
      startSmtpReceiver(),
    ]);
    env = {
      OUTBOUND_ALLOW_HOSTS: "127.0.0.1",
      ALERT_SLACK_WEBHOOK_URL: `${slack.url}/services/T1/B1/cli`,
      ALERT_SLACK_MODE: "live",
      ALERT_WEBHOOK_URL: `${hook.url}/hook`,
      ALERT_WEBHOOK_SECRET: SECRET,
      ALERT_WEBHOOK_MODE: "live",
      ALERT_SMTP_URL: smtp.url,
      ALERT_EMAIL_FROM: "ballast@example.com",
      ALERT_EMAIL_TO: "oncall@example.com,second@example.org",
      ALERT_EMAIL_MODE: "live",
    };
  });
  afterAll(async () => {
    await Promise.all([slack.close(), hook.close(), smtp.close()]);
    await rm(dataDir, { recursive: true, force: true });
  });

  it("fire-test raises, delivers to every channel, resolves, and prints each timestamp", async () => {
    for (const channel of ["slack", "webhook", "email"]) {
      const approved = await runCli(["alerts", "approve", channel], { dataDir, env });
      expect(approved.code, describeResult(approved)).toBe(0);
      expect(approved.stdout).toContain(`channel ${channel} approved`);
    }
    const result = await runCli(["alerts", "fire-test", "dlq-depth"], { dataDir, env });
    expect(result.code, describeResult(result)).toBe(0);
    const stamp = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z";
    expect(result.stdout).toMatch(new RegExp(`^  raised +${stamp}$`, "m"));
    expect(result.stdout).toMatch(
      new RegExp(`^  delivered +${stamp}  email sent; slack sent; webhook sent$`, "m"),
    );
    expect(result.stdout).toMatch(new RegExp(`^  resolved +${stamp}$`, "m"));
    expect(result.stdout).toMatch(
      new RegExp(`^  resolved delivered +${stamp}  email sent; slack sent; webhook sent$`, "m"),
    );
    expect(result.stdout).toContain("✓ every channel delivered the firing and the resolution");
    // biome-ignore lint/suspicious/noConsole: the fire-test's timestamps, for the closing note
    console.log(result.stdout);

    expect(slack.received.map((r) => JSON.parse(r.body).text)).toEqual([
      expect.stringMatching(
        /^\[fire-test\] \[FIRING\] \[warning\] \[fire-test\] Dead-letter queue deeper than 100 entries/,
      ),
      expect.stringMatching(/^\[fire-test\] \[RESOLVED\]/),
    ]);
    expect(smtp.received.map((m) => m.to)).toEqual([
      ["oncall@example.com", "second@example.org"],
      ["oncall@example.com", "second@example.org"],
    ]);
    for (const r of hook.received)
      expect(
        verifyWebhookSignature(
          SECRET,
          {
            timestamp: r.headers["x-ballast-timestamp"] as string,
            signature: r.headers["x-ballast-signature"] as string,
          },
          r.body,
        ),
      ).toBe(true);
    expect(hook.received.map((r) => JSON.parse(r.body).kind)).toEqual(["firing", "resolved"]);

    const list = await runCli(["alerts", "list"], { dataDir, env });
    expect(list.code, describeResult(list)).toBe(0);
    for (const rule of [
      "replay-pass-rate",
      "redis-unreachable",
      "inngest-unreachable",
      "outbox-aging",
      "run-queue-aging",
      "error-rate",
      "dlq-depth",
      "dlq-age",
      "breaker-open",
      "daily-cost",
      "sync-slo",
    ])
      expect(list.stdout).toContain(rule);
    expect(list.stdout).not.toContain(slack.url);
    expect(list.stdout).toContain("Firing: 0");
  });

  it("refuses an unknown rule, a bad channel, and bad options with a message and exit 1", async () => {
    const unknown = await runCli(["alerts", "fire-test", "no-such-rule"], { dataDir, env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no alert rule "no-such-rule" \(rules: replay-pass-rate, /);
    const channel = await runCli(["alerts", "approve", "pager'; drop table alerts"], {
      dataDir,
      env,
    });
    expect(channel.code).toBe(1);
    expect(channel.stderr).toMatch(
      /no notification channel .* is configured \(configured: slack, webhook, email\)/,
    );
    const timeout = await runCli(["alerts", "fire-test", "dlq-depth", "--timeout", "-3"], {
      dataDir,
      env,
    });
    expect(timeout.code).not.toBe(0);
    expect(timeout.stderr).toMatch(/--timeout must be 1-600 seconds/);
    const none = await runCli(["alerts", "fire-test", "dlq-depth"], { dataDir });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no notification channel is configured/);
  });

  it("validate-env shows every outbound mode; production requires an explicit choice", async () => {
    const dev = await runCli(["validate-env"], {
      dataDir,
      env: { ALERT_SLACK_WEBHOOK_URL: "https://hooks.example.com/x" },
    });
    expect(dev.code, describeResult(dev)).toBe(0);
    expect(dev.stdout).toMatch(
      /outbound: alerts\.slack log-only, alerts\.webhook off \(not configured\), alerts\.email off \(not configured\), embedding\.local live/,
    );
    const prod = await runCli(["validate-env", "--mode", "production"], {
      dataDir,
      env: { ALERT_SLACK_WEBHOOK_URL: "https://hooks.example.com/x" },
    });
    expect(prod.code).toBe(1);
    expect(prod.stderr).toMatch(
      /ALERT_SLACK_MODE: is required in production when the channel is configured: choose live, log-only or off/,
    );
    expect(prod.stderr).not.toContain("hooks.example.com/x");
  });
});
