import { z } from "zod";
import { fireTest } from "../../../../../../lib/alerts/fire-test";
import { adminRoute } from "../../../../../../lib/http/admin";
import { json } from "../../../../../../lib/http/respond";

export const dynamic = "force-dynamic";
export const maxDuration = 60;

const ruleId = z
  .string()
  .regex(/^[a-z0-9-]{1,64}$/, "a rule id is lower-case letters, digits and -");

/**
 * A synthetic firing of one rule through the real delivery path, then its resolution (admin).
 * 200 with the timestamps when every channel delivered both; 502 with the same report otherwise.
 */
export const POST = adminRoute<{ rule: string }>(
  { role: "admin", action: "alerts.fire_test", target: (p) => p.rule },
  async ({ runtime, params, key, note }) => {
    const rule = ruleId.parse(params.rule);
    const report = await fireTest(
      {
        db: runtime.db,
        redis: runtime.redis,
        breakers: runtime.breakers,
        config: runtime.config,
      },
      rule,
      {
        actor: key.name,
        timeoutMs: 20_000,
      },
    );
    note({ key: report.key, ok: report.ok });
    return json(report, report.ok ? 200 : 502);
  },
);
