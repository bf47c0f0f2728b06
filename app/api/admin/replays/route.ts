import { z } from "zod";
import { adminRoute } from "../../../../lib/http/admin";
import { json, readJsonBody } from "../../../../lib/http/respond";
import { replayRequestInput } from "../../../../lib/replay/request";
import { listScorecards } from "../../../../lib/replay/scorecard";
import { startReplay } from "../../../_lib/replays";

export const dynamic = "force-dynamic";

const query = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** Replay scorecards, newest first: pass rate, critical failures, gate (viewer). */
export const GET = adminRoute(
  { role: "viewer", action: "replays.list" },
  async ({ runtime, request }) => {
    const params = query.parse(Object.fromEntries(new URL(request.url).searchParams));
    return json({ replays: await listScorecards(runtime.db, { limit: params.limit }) });
  },
);

/**
 * Starts a replay (operator): `{ since, until, source?, minPassRate? }` or `{ bundle,
 * minPassRate? }` → 202 with the queued `workflow/replay.requested` event. The scorecard appears
 * in the list when the replay has run.
 */
export const POST = adminRoute(
  { role: "operator", action: "replays.start" },
  async ({ runtime, request, key, requestId, note }) => {
    const input = replayRequestInput.parse(await readJsonBody(request, 16 * 1024));
    const { event, dispatched } = await startReplay(
      runtime,
      input,
      { requestedBy: key.name, correlationId: `admin:${requestId}` },
      note,
    );
    return json(
      {
        event: { id: event.id, name: event.name },
        correlationId: `admin:${requestId}`,
        dispatched,
      },
      202,
    );
  },
);
