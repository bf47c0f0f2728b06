import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../lib/config";
import { randomSpanId, traceIdFor } from "../../lib/traces/ids";
import { expectNoPlanted, PLANTED, plantedError } from "../support/planted-secrets";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

interface Received {
  path: string;
  headers: IncomingMessage["headers"];
  body: {
    resourceSpans: {
      resource: { attributes: { key: string; value: { stringValue?: string } }[] };
      scopeSpans: {
        spans: {
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          name: string;
          status: { code: number; message?: string };
          attributes: { key: string; value: Record<string, unknown> }[];
        }[];
      }[];
    }[];
  };
  raw: string;
}

/** A loopback OTLP/HTTP receiver: records each POST to /v1/traces. */
describe("OTLP export (OTEL_EXPORTER_OTLP_ENDPOINT)", () => {
  let server: Server;
  let endpoint: string;
  const received: Received[] = [];
  let rt: TestRuntime;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        received.push({ path: req.url ?? "", headers: req.headers, body: JSON.parse(raw), raw });
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    rt = await createTestRuntime({
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_HEADERS: "x-collector-key=collector-secret-value-1",
      GITHUB_WEBHOOK_SECRET: PLANTED.configured,
    });
  });
  afterAll(async () => {
    await rt?.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("sends the stored envelopes to <endpoint>/v1/traces with their ids, redacted", async () => {
    const spanId = randomSpanId();
    const traceId = traceIdFor("otlp:test-1");
    rt.tracer.record({
      spanId,
      traceId,
      parentSpanId: "a".repeat(16),
      correlationId: "otlp:test-1",
      kind: "external",
      name: "embedding.openai",
      function: "process-batch",
      driver: "inngest",
      runId: null,
      sourceId: null,
      eventId: null,
      attempt: 2,
      status: "error",
      errorClass: "ProviderError",
      errorMessage: plantedError().message,
      startedAt: new Date(Date.now() - 50),
      endedAt: new Date(),
      durationMs: 50,
      input: { type: "array", items: 3 },
      output: null,
      attributes: { method: "POST", headers: { authorization: `Bearer ${PLANTED.bearer}` } },
    });
    await rt.tracer.flush();
    expect(rt.tracer.stats()).toMatchObject({ written: 1, exported: 1, exportFailures: 0 });
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request?.path).toBe("/v1/traces");
    expect(request?.headers["x-collector-key"]).toBe("collector-secret-value-1");
    const span = request?.body.resourceSpans[0]?.scopeSpans[0]?.spans[0];
    expect(span).toMatchObject({
      traceId,
      spanId,
      parentSpanId: "a".repeat(16),
      name: "embedding.openai",
      status: { code: 2 },
    });
    const attrs = Object.fromEntries((span?.attributes ?? []).map((a) => [a.key, a.value]));
    expect(attrs["ballast.correlation_id"]).toEqual({ stringValue: "otlp:test-1" });
    expect(attrs["ballast.attempt"]).toEqual({ intValue: 2 });
    expect(attrs["ballast.input.items"]).toEqual({ intValue: 3 });
    expect(request?.body.resourceSpans[0]?.resource.attributes).toContainEqual({
      key: "service.name",
      value: { stringValue: "ballast" },
    });
    expectNoPlanted(request?.raw ?? "");
  });

  it("keeps the OTLP headers out of logs (they are a secret) and is off without the variable", () => {
    const config = loadConfig({
      BALLAST_ENV: "test",
      OTEL_EXPORTER_OTLP_HEADERS: "x-collector-key=collector-secret-value-1",
    });
    expect(config.traces.otlp).toBeUndefined();
    expect(config.secrets).toContain("x-collector-key=collector-secret-value-1");
    expect(rt.logLines.join("\n")).not.toContain("collector-secret-value-1");
  });
});
