import type { DatabaseHandle } from "../../db/client";
import type { Logger } from "../log/logger";
import { RUN_PROGRESS_CHANNEL } from "../pipeline/run-notify";

const KEEPALIVE_MS = 15_000;
/** At most one `activity` event per this interval, however many runs write meanwhile. */
const COALESCE_MS = 1_000;

/**
 * GET /api/admin/activity/events — Server-Sent Events telling the console that some run moved
 * (claimed, planned, a batch done, finished): one `activity` event with the run ids that
 * moved, at most once a second. The console re-renders its server components on each (no
 * client timer); the stream carries ids only, never run contents.
 */
export function activityEventsResponse(
  database: Pick<DatabaseHandle, "listen">,
  log: Logger,
  clientGone?: AbortSignal,
): Response {
  const encoder = new TextEncoder();
  let stop: (() => Promise<void>) | undefined;
  let keepalive: NodeJS.Timeout | undefined;
  let flushTimer: NodeJS.Timeout | undefined;
  let closed = false;
  const pending = new Set<string>();
  const close = async () => {
    if (closed) return;
    closed = true;
    clearInterval(keepalive);
    clearTimeout(flushTimer);
    await stop?.().catch(() => undefined);
  };
  clientGone?.addEventListener("abort", () => void close(), { once: true });
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (text: string) => {
        if (closed) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          void close();
        }
      };
      send("retry: 5000\n\n: connected\n\n");
      keepalive = setInterval(() => send(": keepalive\n\n"), KEEPALIVE_MS);
      const flush = () => {
        flushTimer = undefined;
        if (pending.size === 0) return;
        const runs = [...pending].slice(0, 100);
        pending.clear();
        send(`event: activity\ndata: ${JSON.stringify({ runs })}\n\n`);
      };
      try {
        stop = await database.listen(RUN_PROGRESS_CHANNEL, (payload) => {
          if (/^[0-9a-f-]{36}$/i.test(payload)) pending.add(payload);
          flushTimer ??= setTimeout(flush, COALESCE_MS);
        });
        if (closed) await stop();
      } catch (error) {
        log.warn({ err: error }, "activity stream could not listen");
        send(
          `event: error\ndata: ${JSON.stringify({ message: "live updates are unavailable" })}\n\n`,
        );
        await close();
        controller.close();
      }
    },
    async cancel() {
      await close();
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
