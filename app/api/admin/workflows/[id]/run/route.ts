import { z } from "zod";
import { sendEvents } from "../../../../../../inngest/send";
import { adminRoute } from "../../../../../../lib/http/admin";
import { json, readOptionalJsonBody } from "../../../../../../lib/http/respond";
import { dispatchOutbox } from "../../../../../../lib/outbox/outbox";
import { requestWorkflow } from "../../../../../../lib/workflows/request";

export const dynamic = "force-dynamic";

const body = z.strictObject({
  /** The tick the run acts for (ISO 8601 with offset); default now. */
  at: z.iso.datetime({ offset: true }).optional(),
});

/** Runs a scheduled workflow now, as its cron would (admin): `{ "at"?: ISO time }` → 202. */
export const POST = adminRoute<{ id: string }>(
  { role: "admin", action: "workflows.run", target: (p) => p.id },
  async ({ runtime, request, params, key, requestId, note }) => {
    const { at } = body.parse((await readOptionalJsonBody(request)) ?? {});
    const event = await requestWorkflow(runtime.db, params.id, {
      at: at ? new Date(at) : undefined,
      requestedBy: key.name,
      correlationId: `admin:${requestId}`,
    });
    const sent = await dispatchOutbox(runtime.db, sendEvents, { ids: [event.id] });
    note({ event: event.id, at: at ?? null, dispatched: sent.sent === 1 });
    return json({ event: { id: event.id, name: event.name }, dispatched: sent.sent === 1 }, 202);
  },
);
