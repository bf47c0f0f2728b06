import { createHash, randomBytes } from "node:crypto";

/**
 * OpenTelemetry-compatible ids: a trace id is 32 lowercase hex digits (16 bytes), a span id 16
 * (8 bytes), neither all zeros. A trace id is derived from the correlation id, so every span
 * one cause produced (a webhook delivery, an admin request, a cron tick) shares one trace, in
 * whichever process or driver it ran. Span ids of workflow steps are derived from the
 * execution, the step and the attempt, so a replayed step (Inngest re-enters a function once per
 * step) records its span once.
 */
const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

function nonZero(hex: string): string {
  return /^0+$/.test(hex) ? `${hex.slice(0, -1)}1` : hex;
}

export function isTraceId(value: unknown): value is string {
  return typeof value === "string" && TRACE_ID.test(value) && !/^0+$/.test(value);
}

export function isSpanId(value: unknown): value is string {
  return typeof value === "string" && SPAN_ID.test(value) && !/^0+$/.test(value);
}

function digest(parts: readonly unknown[], length: number): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(String(part)).update("\0");
  return nonZero(hash.digest("hex").slice(0, length));
}

/** The trace of a correlation id (the same id → the same trace everywhere). */
export function traceIdFor(correlationId: string): string {
  return digest(["trace", correlationId], 32);
}

/** A deterministic span id from what identifies the span. */
export function spanIdFor(...parts: unknown[]): string {
  return digest(["span", ...parts], 16);
}

export function randomTraceId(): string {
  return nonZero(randomBytes(16).toString("hex"));
}

export function randomSpanId(): string {
  return nonZero(randomBytes(8).toString("hex"));
}
