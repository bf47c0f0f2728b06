import { z } from "zod";
import { adminRoute } from "../../../../../../lib/http/admin";
import { runEventsResponse } from "../../../../../../lib/http/run-events";
import { getRun } from "../../../../../../lib/pipeline/runs";

export const dynamic = "force-dynamic";

/** A run's live progress as Server-Sent Events, ending with its final state (operator). */
export const GET = adminRoute<{ id: string }>(
  { role: "operator", action: "runs.follow", target: (p) => p.id },
  async ({ runtime, params, request }) => {
    const id = z.uuid({ message: "run id must be a UUID" }).parse(params.id);
    await getRun(runtime.db, id); // 404 before the stream starts
    return runEventsResponse(runtime.database, id, runtime.log, request.signal);
  },
);
