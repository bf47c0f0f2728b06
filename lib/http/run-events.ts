import type { DatabaseHandle } from "../../db/client";
import { errorMessage } from "../errors";
import type { Logger } from "../log/logger";
import { followRun, type RunProgress } from "../pipeline/progress";

/** A comment line every this often keeps proxies from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;

/**
 * GET /api/admin/runs/:id/events — a run's progress as Server-Sent Events: `progress` events
 * (phase, documents processed/failed, chunks embedded, rate, ETA) as the run's own writes
 * happen, then one `end` event with the final state, then the stream closes. Nothing polls
 * on the client; the server re-reads the run when the run's writes notify it.
 */
export function runEventsResponse(
  database: Pick<DatabaseHandle, "db" | "listen">,
  runId: string,
  log: Logger,
  clientGone?: AbortSignal,
): Response {
  const encoder = new TextEncoder();
  const abort = new AbortController();
  clientGone?.addEventListener("abort", () => abort.abort(), { once: true });
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (text: string) => {
        if (!abort.signal.aborted) controller.enqueue(encoder.encode(text));
      };
      const event = (name: string, progress: RunProgress) =>
        send(`event: ${name}\nid: ${progress.at}\ndata: ${JSON.stringify(progress)}\n\n`);
      send(`retry: 5000\n\n`);
      const keepalive = setInterval(() => send(`: keepalive\n\n`), KEEPALIVE_MS);
      try {
        const last = await followRun(
          database,
          runId,
          (progress) => event(progress.finished ? "end" : "progress", progress),
          { signal: abort.signal },
        );
        if (!last?.finished && !abort.signal.aborted) event("end", last);
      } catch (error) {
        log.warn({ runId, err: error }, "run event stream failed");
        send(`event: error\ndata: ${JSON.stringify({ message: errorMessage(error) })}\n\n`);
      } finally {
        clearInterval(keepalive);
        if (!abort.signal.aborted) controller.close();
      }
    },
    cancel() {
      abort.abort();
    },
  });
  return new Response(stream, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    },
  });
}
