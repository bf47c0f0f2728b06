import { describe, expect, it } from "vitest";
import { createDeepRedactor, createScrubber, isSecretField } from "../../lib/log/scrub";
import {
  isSpanId,
  isTraceId,
  randomSpanId,
  randomTraceId,
  spanIdFor,
  traceIdFor,
} from "../../lib/traces/ids";
import { summarize } from "../../lib/traces/summary";

describe("redaction before storage", () => {
  const scrub = createScrubber(["configured-secret-value-1"]);

  it("removes every kind of credential and personal data from text", () => {
    const cases: [string, string][] = [
      ["mail jane.doe+tag@example.co.uk now", "jane.doe+tag@example.co.uk"],
      ["Authorization: Bearer abcdefghijklmnop1234", "abcdefghijklmnop1234"],
      ["authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="],
      ["https://user:hunter2hunter2@git.example.com/r.git", "hunter2hunter2"],
      [
        "https://ghp_abcdefghijklmnopqrstuvwxyz0123@github.com/o/r",
        "ghp_abcdefghijklmnopqrstuvwxyz0123",
      ],
      ["password=s3cr3t-pass&next=1", "s3cr3t-pass"],
      ['{"api_key":"k-1234567890"}', "k-1234567890"],
      ["https://api.example.com/v1?access_token=tok123456&x=1", "tok123456"],
      ["key AKIAABCDEFGHIJKLMNOP used", "AKIAABCDEFGHIJKLMNOP"],
      ["openai sk-proj-abcdefghijklmnop1234", "sk-proj-abcdefghijklmnop1234"],
      ["the configured-secret-value-1 leaked", "configured-secret-value-1"],
    ];
    for (const [text, secret] of cases) {
      const out = scrub(text);
      expect(out, text).not.toContain(secret);
      expect(out).toContain("[REDACTED]");
    }
  });

  it("keeps what is not a secret: SSH remotes, counts, ordinary words", () => {
    for (const text of [
      "ssh://git@example.com/r.git",
      "git@github.com:o/r.git",
      "tokens=1234 processed",
      "processed 5 documents",
    ])
      expect(scrub(text)).toBe(text);
  });

  it("redacts fields named like credentials, deeply, and scrubs every string", () => {
    const redact = createDeepRedactor(scrub);
    const out = redact({
      headers: { Authorization: "Bearer x", "X-Api-Key": "k", cookie: "s=1", accept: "json" },
      nested: [{ password: "p", note: "from a@b.io" }],
      client_secret: "cs",
      privateKey: "-----BEGIN PRIVATE KEY-----",
      at: new Date(0),
      count: 3,
    }) as Record<string, unknown>;
    expect(out).toEqual({
      headers: {
        Authorization: "[REDACTED]",
        "X-Api-Key": "[REDACTED]",
        cookie: "[REDACTED]",
        accept: "json",
      },
      nested: [{ password: "[REDACTED]", note: "from [REDACTED]" }],
      client_secret: "[REDACTED]",
      privateKey: "[REDACTED]",
      at: "1970-01-01T00:00:00.000Z",
      count: 3,
    });
    expect(isSecretField("secretAccessKey")).toBe(true);
    expect(isSecretField("x-hub-signature-256")).toBe(true);
    expect(isSecretField("accept")).toBe(false);
  });

  it("survives cycles and depth", () => {
    const a: Record<string, unknown> = { name: "a" };
    a.self = a;
    expect(createDeepRedactor(scrub, { maxDepth: 3 })(a)).toEqual({ name: "a", self: "[CYCLE]" });
  });
});

describe("OpenTelemetry ids and summaries", () => {
  it("makes 32/16 hex ids, the trace id derived from the correlation id", () => {
    expect(isTraceId(traceIdFor("webhook:abc"))).toBe(true);
    expect(traceIdFor("webhook:abc")).toBe(traceIdFor("webhook:abc"));
    expect(traceIdFor("webhook:abc")).not.toBe(traceIdFor("webhook:abd"));
    expect(isSpanId(spanIdFor("x", 1))).toBe(true);
    expect(isTraceId(randomTraceId()) && isSpanId(randomSpanId())).toBe(true);
    expect(isTraceId("0".repeat(32))).toBe(false);
  });

  it("summarises values as sizes, hashes and counts, never their strings", () => {
    const summary = summarize({
      path: "secret/file.ts",
      content: "export const x = 1",
      processed: 4,
      ok: true,
      items: [1, 2],
    });
    expect(summary).toMatchObject({
      type: "object",
      keys: 5,
      counts: { processed: 4, ok: true, "items.length": 2 },
    });
    expect(JSON.stringify(summary)).not.toMatch(/secret|export const/);
    expect(summarize("a string")).toMatchObject({ type: "string", bytes: 10 });
    expect(JSON.stringify(summarize("a string"))).not.toContain("a string");
  });
});
