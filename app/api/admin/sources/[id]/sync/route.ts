import { z } from "zod";
import { sendEvents } from "../../../../../../inngest/send";
import { adminRoute } from "../../../../../../lib/http/admin";
import { json, readOptionalJsonBody } from "../../../../../../lib/http/respond";
import { dispatchOutbox } from "../../../../../../lib/outbox/outbox";
import { requestSync } from "../../../../../../lib/pipeline/request-sync";
import { describeRun } from "../../../../../../lib/pipeline/runs";
import { getSource } from "../../../../../../lib/pipeline/source-records";

export const dynamic = "force-dynamic";

const body = z.strictObject({ mode: z.enum(["full", "incremental"]).default("incremental") });

/**
 * Requests a sync of a source (operator); the body is optional (`{}`, none at all, or an empty
 * chunked body all mean the default mode, incremental). The run is queued at once and the request sent to
 * Inngest; if Inngest is unreachable it waits in the outbox (202 either way).
 */
export const POST = adminRoute<{ id: string }>(
  { role: "operator", action: "sources.sync", target: (p) => p.id },
  async ({ runtime, request, params, key, requestId, note }) => {
    const { mode } = body.parse((await readOptionalJsonBody(request)) ?? {});
    const source = await getSource(runtime.db, params.id);
    const { run, event } = await requestSync(runtime.db, {
      sourceId: source.id,
      mode,
      trigger: "admin",
      requestedBy: key.name,
      dedupeKey: `admin:${requestId}`,
    });
    const sent = await dispatchOutbox(runtime.db, sendEvents, { ids: [event.id] });
    note({ runId: run.id, mode, dispatched: sent.sent === 1 });
    return json(
      {
        run: await describeRun(runtime.db, run),
        dispatched: sent.sent === 1,
        ...(sent.error ? { dispatchError: sent.error } : {}),
      },
      202,
    );
  },
);
