import { z } from "zod";
import { adminRoute } from "../../../../../lib/http/admin";
import { json } from "../../../../../lib/http/respond";
import { describeRun, getRun } from "../../../../../lib/pipeline/runs";

export const dynamic = "force-dynamic";

/** One run: state, counts, timings (operator). */
export const GET = adminRoute<{ id: string }>(
  { role: "operator", action: "runs.read", target: (p) => p.id },
  async ({ runtime, params }) => {
    const id = z.uuid({ message: "run id must be a UUID" }).parse(params.id);
    return json({ run: await describeRun(runtime.db, await getRun(runtime.db, id)) });
  },
);
