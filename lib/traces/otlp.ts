import { type Attributes, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import type { Config } from "../config";
import type { SpanExporter, SpanRecord } from "./tracer";

/**
 * The optional OTLP export (OTEL_EXPORTER_OTLP_ENDPOINT): the envelopes written to the database
 * are also sent to the team's own tracing backend through OpenTelemetry's OTLP/HTTP exporter,
 * with the same (already redacted) fields: ids, times, status, error, and the summaries as
 * attributes.
 */
export function createOtlpExporter(
  otlp: { endpoint: string; headers: Record<string, string> },
  config: Pick<Config, "mode">,
): SpanExporter {
  const exporter = new OTLPTraceExporter({
    url: `${otlp.endpoint}/v1/traces`,
    headers: otlp.headers,
    timeoutMillis: 10_000,
  });
  const resource = resourceFromAttributes({
    "service.name": "ballast",
    "deployment.environment.name": config.mode,
  });
  return {
    export: (spans) =>
      new Promise((resolve, reject) => {
        exporter.export(
          spans.map((span) => toReadableSpan(span, resource)),
          (result) => {
            if (result.code === 0) resolve();
            else reject(result.error ?? new Error("OTLP export failed"));
          },
        );
      }),
    shutdown: () => exporter.shutdown(),
  };
}

type HrTime = [number, number];

function hrTime(date: Date): HrTime {
  const ms = date.getTime();
  return [Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
}

function hrDuration(ms: number): HrTime {
  const whole = Math.max(0, ms);
  return [Math.floor(whole / 1000), Math.round((whole % 1000) * 1_000_000)];
}

/** Flattens a summary into OTLP attributes (`ballast.output.counts.processed` = 5). */
function flatten(prefix: string, value: unknown, out: Attributes, depth = 0): void {
  if (value === null || value === undefined || depth > 4) return;
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
    out[prefix] = value;
    return;
  }
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === "string")) out[prefix] = value as string[];
    return;
  }
  if (typeof value === "object")
    for (const [key, v] of Object.entries(value as Record<string, unknown>))
      flatten(`${prefix}.${key}`, v, out, depth + 1);
}

export function toReadableSpan(
  span: SpanRecord,
  resource: ReturnType<typeof resourceFromAttributes>,
): ReadableSpan {
  const attributes: Attributes = {
    "ballast.kind": span.kind,
    "ballast.attempt": span.attempt,
  };
  if (span.correlationId) attributes["ballast.correlation_id"] = span.correlationId;
  if (span.function) attributes["ballast.function"] = span.function;
  if (span.driver) attributes["ballast.driver"] = span.driver;
  if (span.runId) attributes["ballast.run_id"] = span.runId;
  if (span.sourceId) attributes["ballast.source_id"] = span.sourceId;
  if (span.eventId) attributes["ballast.event_id"] = span.eventId;
  if (span.errorClass) attributes["error.type"] = span.errorClass;
  flatten("ballast.input", span.input, attributes);
  flatten("ballast.output", span.output, attributes);
  flatten("ballast", span.attributes, attributes);
  return {
    name: span.name,
    kind: span.kind === "external" ? SpanKind.CLIENT : SpanKind.INTERNAL,
    spanContext: () => ({ traceId: span.traceId, spanId: span.spanId, traceFlags: 1 }),
    parentSpanContext: span.parentSpanId
      ? { traceId: span.traceId, spanId: span.parentSpanId, traceFlags: 1 }
      : undefined,
    startTime: hrTime(span.startedAt),
    endTime: hrTime(span.endedAt),
    duration: hrDuration(span.durationMs),
    status:
      span.status === "ok"
        ? { code: SpanStatusCode.OK }
        : { code: SpanStatusCode.ERROR, message: span.errorMessage ?? undefined },
    attributes,
    links: [],
    events: [],
    ended: true,
    resource,
    instrumentationScope: { name: "ballast", version: "1" },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}
