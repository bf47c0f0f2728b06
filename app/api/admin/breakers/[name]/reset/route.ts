import { adminRoute } from "../../../../../../lib/http/admin";
import { json } from "../../../../../../lib/http/respond";
import { resetBreaker } from "../../../../../../lib/recovery/operator";

export const dynamic = "force-dynamic";

/** Closes one breaker, e.g. `embedding:openai` (admin, audited). */
export const POST = adminRoute<{ name: string }>(
  { role: "admin", action: "breakers.reset", target: (p) => safeName(p.name) },
  async ({ runtime, params }) =>
    json({ breaker: await resetBreaker(runtime.breakers, safeName(params.name)) }),
);

function safeName(raw: string): string {
  try {
    return decodeURIComponent(raw).slice(0, 100);
  } catch {
    return raw.slice(0, 100);
  }
}
