import { z } from "zod";
import { DEAD_LETTER_KINDS, DEAD_LETTER_STATUSES } from "../../../../db/schema";
import { adminRoute } from "../../../../lib/http/admin";
import { json } from "../../../../lib/http/respond";
import { getSource } from "../../../../lib/pipeline/source-records";
import { dlqDepth, listDeadLetters } from "../../../../lib/recovery/dlq";

export const dynamic = "force-dynamic";

const query = z.strictObject({
  status: z.enum([...DEAD_LETTER_STATUSES, "open"]).default("open"),
  kind: z.enum(DEAD_LETTER_KINDS).optional(),
  source: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** Dead-letter entries (default: open ones) and the queue's depth (operator). */
export const GET = adminRoute(
  { role: "operator", action: "dlq.list" },
  async ({ runtime, request }) => {
    const params = query.parse(Object.fromEntries(new URL(request.url).searchParams));
    const source = params.source ? await getSource(runtime.db, params.source) : undefined;
    const entries = await listDeadLetters(runtime.db, {
      status: params.status,
      kind: params.kind,
      sourceId: source?.id,
      limit: params.limit,
    });
    return json({ depth: await dlqDepth(runtime.db), entries });
  },
);
