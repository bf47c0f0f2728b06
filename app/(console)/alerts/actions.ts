"use server";

import { redirect } from "next/navigation";
import { z } from "zod";
import { type FireTestReport, fireTest } from "../../../lib/alerts/fire-test";
import { consoleAction, type FormState, formValues } from "../../_lib/actions";
import { currentPath } from "../../_lib/session";

const fireTestForm = z.object({
  rule: z.string().regex(/^[a-z0-9.-]{1,64}$/, "not an alert rule id"),
});

/**
 * A synthetic firing of one rule through the real delivery path, then its resolution (admin,
 * audited). The report (raised, delivered, resolved, per channel) comes back to the form.
 */
export async function fireTestAction(
  _prev: FormState<FireTestReport>,
  form: FormData,
): Promise<FormState<FireTestReport>> {
  const values = formValues(form);
  const result = await consoleAction(
    { role: "admin", action: "alerts.fire_test", target: values.rule?.slice(0, 64) },
    async ({ runtime, caller, note }) => {
      const { rule } = fireTestForm.parse(values);
      const report = await fireTest(
        {
          db: runtime.db,
          redis: runtime.redis,
          breakers: runtime.breakers,
          config: runtime.config,
        },
        rule,
        { actor: caller.name, timeoutMs: 20_000 },
      );
      note({ key: report.key, ok: report.ok });
      return report;
    },
  );
  if (!result.ok && result.code === "signed_out")
    redirect(`/login?reason=expired&next=${encodeURIComponent(await currentPath())}`);
  return { ...result, values };
}
