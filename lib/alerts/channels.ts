import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import nodemailer from "nodemailer";
import type { ChannelConfig } from "../config";
import { BallastError } from "../errors";
import {
  checkOutboundUrl,
  type Resolver,
  systemResolver,
  type UrlPolicy,
} from "../security/url-policy";

/** What a notification says, whichever channel carries it. */
export interface NotificationMessage {
  /** The notification row's id: the receiver's idempotency key. */
  id: string;
  kind: "firing" | "resolved";
  key: string;
  rule: string;
  severity: string;
  summary: string;
  details: Record<string, unknown>;
  firstRaisedAt: string;
  resolvedAt: string | null;
  resolution: string | null;
  test: boolean;
}

export interface SendOptions {
  policy: UrlPolicy;
  resolve?: Resolver;
  timeoutMs?: number;
}

/** A failure to deliver: retryable (5xx, timeouts, refused connections) or not (4xx, refused by policy). */
export class ChannelError extends BallastError {
  constructor(message: string, retryable: boolean) {
    super("channel_failed", message, 502, retryable);
  }
}

export const SIGNATURE_HEADER = "x-ballast-signature";
export const TIMESTAMP_HEADER = "x-ballast-timestamp";

/** `v1=<hex HMAC-SHA256 of "<timestamp>.<body>">` */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/**
 * For receivers (and our tests): checks the signature in constant time and that the timestamp
 * is within `toleranceS` of now, so a captured delivery cannot be replayed later.
 */
export function verifyWebhookSignature(
  secret: string,
  headers: { timestamp: string | null | undefined; signature: string | null | undefined },
  body: string,
  options: { toleranceS?: number; now?: number } = {},
): boolean {
  const ts = Number(headers.timestamp);
  if (!headers.signature || !Number.isInteger(ts)) return false;
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  if (Math.abs(now - ts) > (options.toleranceS ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, ts, body));
  const given = Buffer.from(headers.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Where a channel sends: identifies it for approval (a changed URL or recipient list is a new channel). */
export function channelFingerprint(channel: ChannelConfig): string {
  const target =
    channel.kind === "email"
      ? `${smtpHost(channel.smtpUrl)}|${[...channel.to].sort().join(",")}`
      : channel.url;
  return createHash("sha256").update(`${channel.kind}|${target}`).digest("hex").slice(0, 16);
}

/** The domain a channel delivers to (per-domain limits). */
export function channelDomain(channel: ChannelConfig): string {
  if (channel.kind === "email") {
    const domains = [...new Set(channel.to.map((a) => a.split("@")[1]?.toLowerCase() ?? ""))];
    return domains.sort().join(",");
  }
  return new URL(channel.url).hostname.toLowerCase();
}

export function channelRecipients(channel: ChannelConfig): number {
  return channel.kind === "email" ? channel.to.length : 1;
}

function smtpHost(smtpUrl: string): string {
  const u = new URL(smtpUrl);
  return `${u.hostname}:${u.port || (u.protocol === "smtps:" ? 465 : 587)}`;
}

export function renderText(m: NotificationMessage): string {
  const head = m.kind === "firing" ? "FIRING" : "RESOLVED";
  const lines = [
    `${m.test ? "[fire-test] " : ""}[${head}] [${m.severity}] ${m.summary}`,
    `rule: ${m.rule} · key: ${m.key} · since ${m.firstRaisedAt}`,
  ];
  if (m.kind === "resolved") lines.push(`resolved ${m.resolvedAt}: ${m.resolution ?? ""}`);
  return lines.join("\n");
}

export interface Receipt {
  [key: string]: unknown;
}

/** Sends one notification through one channel. Throws ChannelError on failure. */
export async function sendToChannel(
  channel: ChannelConfig,
  message: NotificationMessage,
  options: SendOptions,
): Promise<Receipt> {
  const resolve = options.resolve ?? systemResolver;
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (channel.kind === "email")
    return sendEmail(channel, message, options.policy, resolve, timeoutMs);
  const body =
    channel.kind === "slack"
      ? JSON.stringify({
          text: renderText(message),
          blocks: [{ type: "section", text: { type: "mrkdwn", text: renderText(message) } }],
        })
      : JSON.stringify({ version: 1, ...message });
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "ballast-alerts/1",
  };
  if (channel.kind === "webhook") {
    const ts = Math.floor(Date.now() / 1000);
    headers[TIMESTAMP_HEADER] = String(ts);
    headers[SIGNATURE_HEADER] = signWebhook(channel.secret, ts, body);
    headers["x-ballast-delivery"] = message.id;
  }
  await checkOutboundUrl(channel.url, options.policy, resolve);
  let response: Response;
  try {
    response = await fetch(channel.url, {
      method: "POST",
      headers,
      body,
      redirect: "error",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new ChannelError(
      `${channel.id}: ${(error as Error).name === "TimeoutError" ? `no answer in ${timeoutMs} ms` : "connection failed"}`,
      true,
    );
  }
  await response.body?.cancel().catch(() => undefined);
  if (!response.ok)
    throw new ChannelError(
      `${channel.id}: HTTP ${response.status}`,
      response.status >= 500 || response.status === 429 || response.status === 408,
    );
  return { status: response.status };
}

async function sendEmail(
  channel: Extract<ChannelConfig, { kind: "email" }>,
  message: NotificationMessage,
  policy: UrlPolicy,
  resolve: Resolver,
  timeoutMs: number,
): Promise<Receipt> {
  const url = new URL(channel.smtpUrl);
  const secure = url.protocol === "smtps:";
  const port = Number(url.port || (secure ? 465 : 587));
  // The SMTP host obeys the same outbound policy as the webhooks (scheme judged as https/http).
  await checkOutboundUrl(
    `${secure ? "https" : policy.schemes.includes("http") ? "http" : "https"}://${url.host}`,
    policy,
    resolve,
  );
  const transport = nodemailer.createTransport({
    host: url.hostname,
    port,
    secure,
    auth: url.username
      ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }
      : undefined,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  const head = message.kind === "firing" ? "FIRING" : "RESOLVED";
  try {
    const info = await transport.sendMail({
      from: channel.from,
      to: channel.to,
      subject:
        `${message.test ? "[fire-test] " : ""}[${head}][${message.severity}] ${message.summary}`.slice(
          0,
          200,
        ),
      text: renderText(message),
      messageId: `<${message.id}@ballast.alerts>`,
      headers: { "X-Ballast-Alert-Key": message.key, "X-Ballast-Kind": message.kind },
    });
    return {
      messageId: info.messageId,
      accepted: info.accepted.length,
      rejected: info.rejected.length,
    };
  } catch (error) {
    const code = (error as { responseCode?: number }).responseCode;
    throw new ChannelError(
      `email: ${code ? `SMTP ${code}` : "connection failed"}`,
      code === undefined || (code >= 400 && code < 500),
    );
  } finally {
    transport.close();
  }
}
