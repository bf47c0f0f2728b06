import { adminRoute } from "../../../../../../lib/http/admin";
import { json, readJsonBody } from "../../../../../../lib/http/respond";
import { signOffInput, signOffReplay } from "../../../../../../lib/replay/request";

export const dynamic = "force-dynamic";

/**
 * Signs a replay scorecard off (admin, audited): `{ decision: "approve" | "reject", reason }`.
 * Approve is recorded as `ship`, reject as `hold` (the CLI's `replay sign-off` decisions); the
 * signer is the caller.
 */
export const POST = adminRoute<{ id: string }>(
  { role: "admin", action: "replays.sign-off", target: (p) => p.id },
  async ({ runtime, request, params, key, note }) => {
    const input = signOffInput.parse(await readJsonBody(request, 16 * 1024));
    note({ decision: input.decision, reason: input.reason });
    const card = await signOffReplay(runtime.db, params.id, input, key.name);
    return json({ id: params.id, signOff: card.signOff, gate: card.gate });
  },
);
