import { AsyncLocalStorage } from "node:async_hooks";
import type { Database } from "../../db/client";
import { type SpanKind, type SpanStatus, traceSpans } from "../../db/schema";
import { errorMessage } from "../errors";
import type { Logger } from "../log/logger";
import { createDeepRedactor, createScrubber } from "../log/scrub";
import { randomSpanId, randomTraceId } from "./ids";
import { summarize } from "./summary";

/**
 * Trace envelopes, buffered in memory and written to trace_spans in batches (one insert per
 * batch, on a timer or when the buffer fills), so tracing costs the pipeline a push into an
 * array per span. Every envelope is redacted when it is recorded, before it is buffered, stored
 * or exported: known secret values, credential shapes, credentials in URLs, email addresses,
 * and every field named like a credential.
 */
export interface SpanRecord {
  spanId: string;
  traceId: string;
  parentSpanId: string | null;
  correlationId: string | null;
  kind: SpanKind;
  name: string;
  function: string | null;
  driver: string | null;
  runId: string | null;
  sourceId: string | null;
  eventId: string | null;
  attempt: number;
  status: SpanStatus;
  errorClass: string | null;
  errorMessage: string | null;
  startedAt: Date;
  endedAt: Date;
  durationMs: number;
  input: Record<string, unknown> | null;
  output: Record<string, unknown> | null;
  attributes: Record<string, unknown>;
}

/** Where spans go besides the database (OTLP). */
export interface SpanExporter {
  export(spans: readonly SpanRecord[]): Promise<void>;
  shutdown(): Promise<void>;
}

export interface TracerOptions {
  db: Database;
  log: Logger;
  /** Secret values (config.secrets) scrubbed from every text field. */
  secrets: readonly string[];
  /** false: record nothing (TRACES_ENABLED=false). */
  enabled?: boolean;
  /** Rows per insert. Default 500. */
  batchSize?: number;
  /** Longest a span waits in the buffer. Default 1000 ms. */
  flushMs?: number;
  /** Spans kept while the database does not answer; the oldest are dropped past it. Default 50,000. */
  maxBuffer?: number;
  exporter?: SpanExporter;
}

export interface TracerStats {
  recorded: number;
  written: number;
  dropped: number;
  flushFailures: number;
  buffered: number;
  exported: number;
  exportFailures: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_TEXT = 2000;

export class Tracer {
  readonly enabled: boolean;
  private buffer: SpanRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  private readonly scrub: (text: string) => string;
  private readonly redact: (value: unknown) => unknown;
  private readonly batchSize: number;
  private readonly flushMs: number;
  private readonly maxBuffer: number;
  private readonly counters = {
    recorded: 0,
    written: 0,
    dropped: 0,
    flushFailures: 0,
    exported: 0,
    exportFailures: 0,
  };

  constructor(private readonly options: TracerOptions) {
    this.enabled = options.enabled !== false;
    this.scrub = createScrubber(options.secrets);
    this.redact = createDeepRedactor(this.scrub, { maxDepth: 6 });
    this.batchSize = options.batchSize ?? 500;
    this.flushMs = options.flushMs ?? 1000;
    this.maxBuffer = options.maxBuffer ?? 50_000;
  }

  get exporter(): SpanExporter | undefined {
    return this.options.exporter;
  }

  stats(): TracerStats {
    return { ...this.counters, buffered: this.buffer.length };
  }

  /** Redacts and buffers one span. Never throws. */
  record(span: SpanRecord): void {
    if (!this.enabled || this.closed) return;
    try {
      this.buffer.push(this.clean(span));
      this.counters.recorded++;
    } catch (error) {
      this.options.log.warn({ err: error }, "a trace envelope could not be recorded");
      return;
    }
    if (this.buffer.length > this.maxBuffer) {
      const excess = this.buffer.length - this.maxBuffer;
      this.buffer.splice(0, excess);
      this.counters.dropped += excess;
    }
    if (this.buffer.length >= this.batchSize) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.flushMs);
      this.timer.unref?.();
    }
  }

  /** Writes everything buffered (the caller awaits it: end of an Inngest step, shutdown, tests). */
  async flush(): Promise<void> {
    if (this.flushing) await this.flushing.catch(() => undefined);
    if (this.buffer.length === 0) return;
    const run = this.drain();
    this.flushing = run;
    try {
      await run;
    } finally {
      if (this.flushing === run) this.flushing = undefined;
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
    this.closed = true;
    await this.options.exporter?.shutdown().catch(() => undefined);
  }

  private async drain(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.batchSize);
      try {
        await this.options.db.insert(traceSpans).values(batch).onConflictDoNothing();
        this.counters.written += batch.length;
      } catch (error) {
        // Keep them for the next flush (bounded by maxBuffer); tracing never fails the work.
        this.buffer.unshift(...batch);
        this.counters.flushFailures++;
        this.options.log.warn(
          { err: error, buffered: this.buffer.length },
          "trace envelopes could not be written; kept for the next flush",
        );
        if (!this.timer && !this.closed) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            void this.flush();
          }, this.flushMs * 5);
          this.timer.unref?.();
        }
        return;
      }
      const exporter = this.options.exporter;
      if (exporter)
        await exporter.export(batch).then(
          () => {
            this.counters.exported += batch.length;
          },
          (error: unknown) => {
            this.counters.exportFailures++;
            this.options.log.warn({ err: error }, "trace export (OTLP) failed");
          },
        );
    }
  }

  private text(value: string | null | undefined): string | null {
    if (value === null || value === undefined) return null;
    return this.scrub(value).slice(0, MAX_TEXT);
  }

  private clean(span: SpanRecord): SpanRecord {
    return {
      ...span,
      name: this.text(span.name) ?? "unnamed",
      correlationId: this.text(span.correlationId),
      function: this.text(span.function),
      eventId: this.text(span.eventId),
      errorClass: this.text(span.errorClass),
      errorMessage: this.text(span.errorMessage),
      runId: span.runId && UUID.test(span.runId) ? span.runId : null,
      sourceId: span.sourceId && UUID.test(span.sourceId) ? span.sourceId : null,
      input: span.input ? (this.redact(span.input) as Record<string, unknown>) : null,
      output: span.output ? (this.redact(span.output) as Record<string, unknown>) : null,
      attributes: (this.redact(span.attributes) as Record<string, unknown>) ?? {},
    };
  }
}

/** What a span inherits from where it runs: its trace, parent, workflow, run and source. */
export interface SpanContext {
  tracer: Tracer;
  traceId: string;
  spanId: string;
  correlationId: string | null;
  function: string | null;
  driver: string | null;
  runId: string | null;
  sourceId: string | null;
  eventId: string | null;
}

const storage = new AsyncLocalStorage<SpanContext>();

/** The span the code runs in (inside a traced workflow step), if any. */
export function currentSpan(): SpanContext | undefined {
  return storage.getStore();
}

export function runInSpan<T>(context: SpanContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function errorFields(error: unknown): { errorClass: string; errorMessage: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      errorClass: typeof code === "string" ? `${error.name}:${code}` : error.name,
      errorMessage: errorMessage(error),
    };
  }
  return { errorClass: typeof error, errorMessage: String(error) };
}

export interface ExternalCallOptions<T> {
  /** Small facts about the call (counts, host, method, status): never contents. */
  attributes?: Record<string, unknown>;
  /** Input summary (counts and hashes). */
  input?: Record<string, unknown>;
  /** Output summary from the result; default: summarize(result). */
  output?: (result: T) => Record<string, unknown>;
  /** A tracer to use when the call runs outside any traced step (e.g. a search request). */
  tracer?: Tracer;
  /** A result that is a failure (an HTTP error answer): its error class and message. */
  failed?: (result: T) => { errorClass: string; errorMessage: string } | undefined;
}

/**
 * Runs an external call (embedding provider, GitHub, git, the archive store) as a span: a child
 * of the step it runs in, or a root span of its own when given a tracer outside any step.
 * Untraced when neither.
 */
export async function traceExternal<T>(
  name: string,
  fn: () => Promise<T>,
  options: ExternalCallOptions<T> = {},
): Promise<T> {
  const parent = storage.getStore();
  const tracer = parent?.tracer ?? options.tracer;
  if (!tracer?.enabled) return fn();
  const spanId = randomSpanId();
  const startedAt = new Date();
  const started = performance.now();
  const context: SpanContext = parent
    ? { ...parent, spanId }
    : {
        tracer,
        traceId: randomTraceId(),
        spanId,
        correlationId: null,
        function: null,
        driver: null,
        runId: null,
        sourceId: null,
        eventId: null,
      };
  const finish = (outcome: SpanStatus, result: { value?: T; error?: unknown }) => {
    let output: Record<string, unknown> | null = null;
    let status = outcome;
    let failure = status === "error" ? errorFields(result.error) : undefined;
    if (status === "ok") {
      failure = options.failed?.(result.value as T);
      if (failure) status = "error";
      try {
        output = options.output
          ? options.output(result.value as T)
          : (summarize(result.value) as unknown as Record<string, unknown>);
      } catch {
        output = null;
      }
    }
    tracer.record({
      spanId,
      traceId: context.traceId,
      parentSpanId: parent?.spanId ?? null,
      correlationId: context.correlationId,
      kind: "external",
      name,
      function: context.function,
      driver: context.driver,
      runId: context.runId,
      sourceId: context.sourceId,
      eventId: context.eventId,
      attempt: 1,
      status,
      errorClass: failure?.errorClass ?? null,
      errorMessage: failure?.errorMessage ?? null,
      startedAt,
      endedAt: new Date(),
      durationMs: performance.now() - started,
      input: options.input ?? null,
      output,
      attributes: options.attributes ?? {},
    });
  };
  try {
    const value = await storage.run(context, fn);
    finish("ok", { value });
    return value;
  } catch (error) {
    finish("error", { error });
    throw error;
  }
}

/**
 * A fetch whose every request is an external-call span (`<name>`: method, host, path, status).
 * The path is kept (scrubbed); query strings and bodies are not.
 */
export function tracedFetch(name: string, fetchImpl: typeof fetch, tracer?: Tracer): typeof fetch {
  const wrapped = async (
    input: Parameters<typeof fetch>[0],
    init?: Parameters<typeof fetch>[1],
  ) => {
    const url = new URL(
      typeof input === "string" ? input : input instanceof URL ? input.href : input.url,
    );
    const method = (
      init?.method ?? (typeof input === "object" && "method" in input ? input.method : "GET")
    ).toUpperCase();
    let status: number | undefined;
    return traceExternal(
      name,
      async () => {
        const response = await fetchImpl(input, init);
        status = response.status;
        return response;
      },
      {
        tracer,
        attributes: { method, host: url.host, path: url.pathname },
        output: () => ({ status }),
        // An HTTP failure is the call's answer, not a thrown error: the span records it.
        failed: (response) =>
          response.ok
            ? undefined
            : { errorClass: `HTTP ${response.status}`, errorMessage: response.statusText || "" },
      },
    );
  };
  return wrapped as typeof fetch;
}
