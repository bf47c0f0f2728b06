"use server";

import { redirect } from "next/navigation";
import { z } from "zod";
import { sendEvents } from "../../../inngest/send";
import { dispatchOutbox } from "../../../lib/outbox/outbox";
import { discardDeadLetter } from "../../../lib/recovery/dlq";
import { retryAll, retryEntry } from "../../../lib/recovery/operator";
import { consoleAction, type FormState, formValues } from "../../_lib/actions";
import { currentPath } from "../../_lib/session";

async function signInAgain(): Promise<never> {
  redirect(`/login?reason=expired&next=${encodeURIComponent(await currentPath())}`);
}

const entryForm = z.object({ id: z.uuid("not a dead-letter entry id") });

/** Re-drives one pending or parked entry now, through the outbox (operator, audited). */
export async function retryEntryAction(
  _prev: FormState<{ id: string }>,
  form: FormData,
): Promise<FormState<{ id: string }>> {
  const values = formValues(form);
  const result = await consoleAction(
    { role: "operator", action: "dlq.retry", target: values.id?.slice(0, 100) },
    async ({ runtime, caller, requestId, note }) => {
      const { id } = entryForm.parse(values);
      const { entry, eventIds } = await retryEntry(
        runtime.db,
        id,
        caller.name,
        `console:${requestId}`,
      );
      const sent = await dispatchOutbox(runtime.db, sendEvents, { ids: eventIds });
      note({ kind: entry.kind, recoveries: entry.recoveries, dispatched: sent.sent });
      return { id: entry.id };
    },
  );
  if (result.ok) redirect(`/dlq?retried=1`);
  if (result.code === "signed_out") await signInAgain();
  return { ...result, values };
}

/** Re-drives every pending and parked entry now (operator, audited). */
export async function retryAllAction(
  _prev: FormState<{ count: number }>,
  form: FormData,
): Promise<FormState<{ count: number }>> {
  const values = formValues(form);
  const result = await consoleAction(
    { role: "operator", action: "dlq.retry-all" },
    async ({ runtime, caller, requestId, note }) => {
      const { count, eventIds } = await retryAll(runtime.db, caller.name, `console:${requestId}`);
      const sent = await dispatchOutbox(runtime.db, sendEvents, { ids: eventIds });
      note({ count, events: eventIds.length, dispatched: sent.sent });
      return { count };
    },
  );
  if (result.ok) redirect(`/dlq?retried=${result.value.count}`);
  if (result.code === "signed_out") await signInAgain();
  return { ...result, values };
}

const discardForm = z.object({
  id: z.uuid("not a dead-letter entry id"),
  reason: z
    .string()
    .trim()
    .min(3, "say why it can be given up (3-500 characters)")
    .max(500, "at most 500 characters"),
});

/** Gives up on an entry; the reason is required and recorded (operator, audited). */
export async function discardEntryAction(
  _prev: FormState<{ id: string }>,
  form: FormData,
): Promise<FormState<{ id: string }>> {
  const values = formValues(form);
  const result = await consoleAction(
    { role: "operator", action: "dlq.discard", target: values.id?.slice(0, 100) },
    async ({ runtime, caller, note }) => {
      const { id, reason } = discardForm.parse(values);
      note({ reason });
      const entry = await discardDeadLetter(runtime.db, id, caller.name, reason);
      return { id: entry.id };
    },
  );
  if (result.ok) redirect(`/dlq?discarded=1`);
  if (result.code === "signed_out") await signInAgain();
  return { ...result, values };
}
