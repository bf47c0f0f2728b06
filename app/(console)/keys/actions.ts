"use server";

import { redirect } from "next/navigation";
import { z } from "zod";
import { createApiKey, revokeApiKey } from "../../../lib/auth/api-keys";
import { ROLES } from "../../../lib/auth/roles";
import { revokeSession } from "../../../lib/auth/sessions";
import { consoleAction, type FormState, formValues } from "../../_lib/actions";
import { currentPath } from "../../_lib/session";

async function signInAgain(): Promise<never> {
  redirect(`/login?reason=expired&next=${encodeURIComponent(await currentPath())}`);
}

const createForm = z.object({
  name: z.string().trim().min(1, "give the key a name").max(100, "at most 100 characters"),
  role: z.enum(ROLES, { message: `one of ${ROLES.join(", ")}` }),
});

export type CreatedKey = { name: string; role: string; prefix: string; key: string };

/** Creates a key; the whole key is returned once, to be shown once. */
export async function createKeyAction(
  _prev: FormState<CreatedKey>,
  form: FormData,
): Promise<FormState<CreatedKey>> {
  const values = formValues(form);
  const result = await consoleAction(
    { role: "admin", action: "keys.create" },
    async ({ runtime, caller, note }) => {
      const input = createForm.parse(values);
      const created = await createApiKey(runtime.db, { ...input, createdBy: caller.name });
      note({ prefix: created.prefix, role: created.role, name: created.name });
      return { name: created.name, role: created.role, prefix: created.prefix, key: created.key };
    },
  );
  if (!result.ok && result.code === "signed_out") await signInAgain();
  // The key itself never goes back into the form's values.
  return { ...result, values: result.ok ? {} : values };
}

const revokeForm = z.object({ prefix: z.string().regex(/^[a-z0-9]{12}$/, "not a key prefix") });

export async function revokeKeyAction(
  _prev: FormState<{ prefix: string }>,
  form: FormData,
): Promise<FormState<{ prefix: string }>> {
  const values = formValues(form);
  const result = await consoleAction(
    { role: "admin", action: "keys.revoke", target: values.prefix },
    async ({ runtime }) => {
      const { prefix } = revokeForm.parse(values);
      const revoked = await revokeApiKey(runtime.db, prefix);
      return { prefix: revoked.prefix };
    },
  );
  if (result.ok) redirect(`/keys?revoked=${result.value.prefix}`);
  if (result.code === "signed_out") await signInAgain();
  return { ...result, values };
}

const sessionForm = z.object({ session: z.uuid("not a session id") });

export async function revokeSessionAction(
  _prev: FormState<{ id: string }>,
  form: FormData,
): Promise<FormState<{ id: string }>> {
  const values = formValues(form);
  const result = await consoleAction(
    { role: "admin", action: "sessions.revoke", target: values.session },
    async ({ runtime }) => {
      const { session } = sessionForm.parse(values);
      await revokeSession(runtime.db, session);
      return { id: session };
    },
  );
  if (result.ok) redirect("/keys?session_revoked=1");
  if (result.code === "signed_out") await signInAgain();
  return { ...result, values };
}
