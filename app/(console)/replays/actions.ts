"use server";

import { redirect } from "next/navigation";
import { z } from "zod";
import { replayInputFromForm, signOffInput, signOffReplay } from "../../../lib/replay/request";
import { consoleAction, type FormState, formValues } from "../../_lib/actions";
import { startReplay } from "../../_lib/replays";
import { currentPath } from "../../_lib/session";

async function signInAgain(): Promise<never> {
  redirect(`/login?reason=expired&next=${encodeURIComponent(await currentPath())}`);
}

/** Starts a replay of a range or an archived bundle (operator, audited), as POST /api/admin/replays. */
export async function startReplayAction(
  _prev: FormState<{ event: string }>,
  form: FormData,
): Promise<FormState<{ event: string }>> {
  const values = formValues(form);
  const result = await consoleAction(
    { role: "operator", action: "replays.start" },
    async ({ runtime, caller, requestId, note }) => {
      const input = replayInputFromForm(values);
      const { event } = await startReplay(
        runtime,
        input,
        { requestedBy: caller.name, correlationId: `console:${requestId}` },
        note,
      );
      return { event: event.id };
    },
  );
  if (result.ok) redirect("/replays?started=1");
  if (result.code === "signed_out") await signInAgain();
  return { ...result, values };
}

const signOffForm = z.object({ id: z.uuid("not a replay report id") });

/** Signs a scorecard off: approve (ship) or reject (hold) with a reason (admin, audited). */
export async function signOffAction(
  _prev: FormState<{ id: string }>,
  form: FormData,
): Promise<FormState<{ id: string }>> {
  const values = formValues(form);
  const result = await consoleAction(
    { role: "admin", action: "replays.sign-off", target: values.id?.slice(0, 100) },
    async ({ runtime, caller, note }) => {
      const { id } = signOffForm.parse({ id: values.id });
      const input = signOffInput.parse({ decision: values.decision, reason: values.reason });
      note({ decision: input.decision, reason: input.reason });
      await signOffReplay(runtime.db, id, input, caller.name);
      return { id };
    },
  );
  if (result.ok) redirect(`/replays?signed=${values.decision === "reject" ? "reject" : "approve"}`);
  if (result.code === "signed_out") await signInAgain();
  return { ...result, values };
}
