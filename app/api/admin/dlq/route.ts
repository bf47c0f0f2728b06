import { z } from "zod";
import { DEAD_LETTER_KINDS, DEAD_LETTER_STATUSES } from "../../../../db/schema";
import { ValidationError } from "../../../../lib/errors";
import { adminRoute } from "../../../../lib/http/admin";
import { json } from "../../../../lib/http/respond";
import { getSource } from "../../../../lib/pipeline/source-records";
import { dlqDepth, pageDeadLetters } from "../../../../lib/recovery/dlq";

export const dynamic = "force-dynamic";

const query = z.strictObject({
  status: z.enum([...DEAD_LETTER_STATUSES, "open"]).default("open"),
  kind: z.enum(DEAD_LETTER_KINDS).optional(),
  source: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** Keyset cursors: the `older` / `newer` of a previous answer (an entry id). */
  before: z.uuid().optional(),
  after: z.uuid().optional(),
});

/**
 * Dead-letter entries (default: open ones), newest first, `limit` a page, with the filter's
 * total and the cursors of the older and newer pages; and the queue's depth (operator).
 */
export const GET = adminRoute(
  { role: "operator", action: "dlq.list" },
  async ({ runtime, request }) => {
    const params = query.parse(Object.fromEntries(new URL(request.url).searchParams));
    const source = params.source ? await getSource(runtime.db, params.source) : undefined;
    if (params.before && params.after)
      throw new ValidationError("give before or after, not both", [
        { path: "after", message: "conflicts with before" },
      ]);
    const page = await pageDeadLetters(runtime.db, {
      status: params.status,
      kind: params.kind,
      sourceId: source?.id,
      pageSize: params.limit,
      before: params.before,
      after: params.after,
    });
    return json({ depth: await dlqDepth(runtime.db), ...page });
  },
);
