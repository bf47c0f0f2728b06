import { and, asc, desc, eq, gte, inArray, isNull, lt, or, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../../db/client";
import { SPAN_STATUSES, traceSpans } from "../../db/schema";
import { ValidationError } from "../errors";
import { findSource } from "../pipeline/source-records";

/** Filters of `GET /api/admin/traces` and `ballast traces`. */
export const traceFilterSchema = z.strictObject({
  run: z.uuid().optional(),
  source: z.uuid().optional(),
  function: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,99}$/, "a workflow id: lowercase letters, digits and -")
    .optional(),
  status: z.enum(SPAN_STATUSES).optional(),
  correlation: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[\w:.@/-]+$/, "letters, digits and :._@/- only")
    .optional(),
  kind: z.enum(["step", "external"]).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9_-]+$/, "an opaque cursor from a previous page")
    .optional(),
});
export type TraceFilter = z.input<typeof traceFilterSchema>;

export type TraceRow = typeof traceSpans.$inferSelect;

export interface TraceView {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  correlationId: string | null;
  kind: string;
  name: string;
  function: string | null;
  driver: string | null;
  runId: string | null;
  sourceId: string | null;
  attempt: number;
  status: string;
  errorClass: string | null;
  errorMessage: string | null;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  input: Record<string, unknown> | null;
  output: Record<string, unknown> | null;
  attributes: Record<string, unknown>;
}

export function traceView(row: TraceRow): TraceView {
  return {
    traceId: row.traceId,
    spanId: row.spanId,
    parentSpanId: row.parentSpanId,
    correlationId: row.correlationId,
    kind: row.kind,
    name: row.name,
    function: row.function,
    driver: row.driver,
    runId: row.runId,
    sourceId: row.sourceId,
    attempt: row.attempt,
    status: row.status,
    errorClass: row.errorClass,
    errorMessage: row.errorMessage,
    startedAt: row.startedAt.toISOString(),
    endedAt: row.endedAt.toISOString(),
    durationMs: Math.round(row.durationMs * 1000) / 1000,
    input: row.input,
    output: row.output,
    attributes: row.attributes,
  };
}

function encodeCursor(row: TraceRow): string {
  return Buffer.from(`${row.startedAt.toISOString()}|${row.spanId}`, "utf8").toString("base64url");
}

function decodeCursor(cursor: string): { at: Date; spanId: string } {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const [at, spanId] = text.split("|");
  const date = new Date(at ?? "");
  if (!at || !spanId || Number.isNaN(date.getTime()) || !/^[0-9a-f]{16}$/.test(spanId))
    throw new ValidationError("the cursor is not one this API gave", [
      { path: "cursor", message: "invalid" },
    ]);
  return { at: date, spanId };
}

/** Spans matching the filters, newest first, a page at a time (`nextCursor` for the next one). */
export async function listTraces(
  db: Database,
  input: TraceFilter,
): Promise<{ traces: TraceView[]; nextCursor: string | null }> {
  const parsed = traceFilterSchema.safeParse(input);
  if (!parsed.success)
    throw new ValidationError(
      "the trace filters are not valid",
      parsed.error.issues.map((i) => ({
        path: i.path.join(".") || "(root)",
        message: i.message,
      })),
    );
  const f = parsed.data;
  const where: SQL[] = [];
  if (f.run) {
    // The run's own spans, and the spans of the same executions recorded before the run
    // existed (sync-source's create-run step).
    const events = db
      .selectDistinct({ eventId: traceSpans.eventId })
      .from(traceSpans)
      .where(eq(traceSpans.runId, f.run));
    where.push(
      or(
        eq(traceSpans.runId, f.run),
        and(isNull(traceSpans.runId), inArray(traceSpans.eventId, events)),
      ) as SQL,
    );
  }
  if (f.source) where.push(eq(traceSpans.sourceId, f.source));
  if (f.function) where.push(eq(traceSpans.function, f.function));
  if (f.status) where.push(eq(traceSpans.status, f.status));
  if (f.kind) where.push(eq(traceSpans.kind, f.kind));
  if (f.correlation) where.push(eq(traceSpans.correlationId, f.correlation));
  if (f.from) where.push(gte(traceSpans.startedAt, new Date(f.from)));
  if (f.to) where.push(lt(traceSpans.startedAt, new Date(f.to)));
  if (f.from && f.to && Date.parse(f.from) > Date.parse(f.to))
    throw new ValidationError("`from` is after `to`", [{ path: "from", message: "after to" }]);
  if (f.cursor) {
    const c = decodeCursor(f.cursor);
    where.push(
      sql`(${traceSpans.startedAt}, ${traceSpans.spanId}) < (${c.at.toISOString()}::timestamptz, ${c.spanId})`,
    );
  }
  const rows = await db
    .select()
    .from(traceSpans)
    .where(where.length > 0 ? and(...where) : undefined)
    .orderBy(desc(traceSpans.startedAt), desc(traceSpans.spanId))
    .limit(f.limit + 1);
  const page = rows.slice(0, f.limit);
  const last = page[page.length - 1];
  return {
    traces: page.map(traceView),
    nextCursor: rows.length > f.limit && last ? encodeCursor(last) : null,
  };
}

/** Every span of a run, in time order (the CLI's timeline). At most `limit`. */
export async function runTimeline(db: Database, runId: string, limit = 5000): Promise<TraceView[]> {
  const events = db
    .selectDistinct({ eventId: traceSpans.eventId })
    .from(traceSpans)
    .where(eq(traceSpans.runId, runId));
  const rows = await db
    .select()
    .from(traceSpans)
    .where(
      or(
        eq(traceSpans.runId, runId),
        and(isNull(traceSpans.runId), inArray(traceSpans.eventId, events)),
      ),
    )
    .orderBy(asc(traceSpans.startedAt), asc(traceSpans.spanId))
    .limit(limit);
  return rows.map(traceView);
}

const SOURCE_REF = /^[\w.-]{1,200}$/;

/**
 * Query parameters as the API and the CLI take them: `source` may be a name or an id, every
 * other filter as in traceFilterSchema. Unknown parameters are refused (422).
 */
export async function queryTraces(
  db: Database,
  params: Record<string, string | undefined>,
): Promise<{ traces: TraceView[]; nextCursor: string | null }> {
  const { source, ...rest } = params;
  const filters: Record<string, string> = {};
  for (const [key, value] of Object.entries(rest)) if (value !== undefined) filters[key] = value;
  let sourceId: string | undefined;
  if (source !== undefined) {
    if (!SOURCE_REF.test(source))
      throw new ValidationError("`source` must be a source name or id", [
        { path: "source", message: "a source name or id" },
      ]);
    const found = await findSource(db, source);
    if (!found) return { traces: [], nextCursor: null }; // no such source: no spans (not an error to list)
    sourceId = found.id;
  }
  return listTraces(db, { ...filters, ...(sourceId ? { source: sourceId } : {}) } as TraceFilter);
}
