"use server";

import { redirect } from "next/navigation";
import { z } from "zod";
import { sendEvents } from "../../../inngest/send";
import { approveChannel } from "../../../lib/alerts/notify";
import { decideAndNotify } from "../../../lib/retention/cleanup";
import { consoleAction, type FormState, formValues } from "../../_lib/actions";
import { currentPath } from "../../_lib/session";

async function signInAgain(): Promise<never> {
  redirect(`/login?reason=expired&next=${encodeURIComponent(await currentPath())}`);
}

const reason = z
  .string()
  .trim()
  .min(3, "say why (3-1000 characters)")
  .max(1000, "at most 1000 characters");

const cleanupForm = z.object({
  runId: z.uuid("not a cleanup run id"),
  decision: z.enum(["approve", "reject"], { message: "approve or reject" }),
  reason,
});

/**
 * An admin's decision on a cleanup awaiting approval, with its reason (audited); the waiting
 * workflow hears it through the outbox.
 */
export async function decideCleanupAction(
  _prev: FormState<{ runId: string }>,
  form: FormData,
): Promise<FormState<{ runId: string }>> {
  const values = formValues(form);
  const decision = values.decision === "reject" ? "reject" : "approve";
  const result = await consoleAction(
    { role: "admin", action: `cleanup.${decision}`, target: values.runId?.slice(0, 100) },
    async ({ runtime, caller, note }) => {
      const input = cleanupForm.parse(values);
      note({ reason: input.reason });
      const { run, dispatched } = await decideAndNotify(
        runtime.db,
        input.runId,
        input.decision,
        { by: caller.name, reason: input.reason },
        sendEvents,
      );
      note({ reason: input.reason, dispatched });
      return { runId: run.id };
    },
  );
  if (result.ok) redirect(`/approvals?decided=${decision}`);
  if (result.code === "signed_out") await signInAgain();
  return { ...result, values };
}

const channelForm = z.object({
  channel: z.enum(["slack", "webhook", "email"], { message: "slack, webhook or email" }),
  reason,
});

/** Approves a notification channel as configured now and releases what it held (admin). */
export async function approveChannelAction(
  _prev: FormState<{ channel: string }>,
  form: FormData,
): Promise<FormState<{ channel: string }>> {
  const values = formValues(form);
  const result = await consoleAction(
    { role: "admin", action: "alerts.channel.approve", target: values.channel?.slice(0, 20) },
    async ({ runtime, caller, note }) => {
      const input = channelForm.parse(values);
      const approved = await approveChannel(
        runtime.db,
        runtime.config.monitoring,
        input.channel,
        caller.name,
      );
      note({ reason: input.reason, released: approved.released });
      return { channel: approved.channel };
    },
  );
  if (result.ok) redirect(`/approvals?approved_channel=${result.value.channel}`);
  if (result.code === "signed_out") await signInAgain();
  return { ...result, values };
}
