"use server";

import { redirect } from "next/navigation";
import { z } from "zod";
import { resetBreaker } from "../../../lib/recovery/operator";
import { consoleAction, type FormState, formValues } from "../../_lib/actions";
import { currentPath } from "../../_lib/session";

const resetForm = z.object({
  // Which names exist (dependencies and notification channels) is resetBreaker's to say.
  name: z.string().min(1).max(100),
});

/** Closes one breaker: the operator knows the dependency is back (admin, audited). */
export async function resetBreakerAction(
  _prev: FormState<{ name: string }>,
  form: FormData,
): Promise<FormState<{ name: string }>> {
  const values = formValues(form);
  const result = await consoleAction(
    { role: "admin", action: "breakers.reset", target: values.name?.slice(0, 100) },
    async ({ runtime }) => {
      const { name } = resetForm.parse(values);
      const breaker = await resetBreaker(runtime.breakers, name);
      return { name: breaker.name };
    },
  );
  if (result.ok) redirect(`/breakers?reset=${encodeURIComponent(result.value.name)}`);
  if (result.code === "signed_out")
    redirect(`/login?reason=expired&next=${encodeURIComponent(await currentPath())}`);
  return { ...result, values };
}
