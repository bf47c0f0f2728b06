"use client";

import { useActionState } from "react";
import { FormMessage, SubmitButton } from "../../_ui/form-bits";
import { approveChannelAction, decideCleanupAction } from "./actions";

function ReasonField({
  id,
  error,
  defaultValue,
}: {
  id: string;
  error?: string;
  defaultValue?: string;
}) {
  return (
    <div>
      <label htmlFor={id} className="field-label">
        Reason
      </label>
      <input
        id={id}
        name="reason"
        className="input"
        required
        defaultValue={defaultValue}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
      />
      {error ? (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** Approve or reject one cleanup awaiting approval; the reason is required. */
export function CleanupDecisionForm({ runId }: { runId: string }) {
  const [state, action] = useActionState(decideCleanupAction, null);
  const errors = state && !state.ok ? state.fields : {};
  return (
    <form action={action} className="space-y-2" noValidate>
      <input type="hidden" name="runId" value={runId} />
      <ReasonField
        id={`cleanup-reason-${runId}`}
        error={errors.reason}
        defaultValue={state?.values?.reason}
      />
      <div className="flex flex-wrap gap-2">
        <SubmitButton name="decision" value="approve" pending="Saving…">
          Approve cleanup
        </SubmitButton>
        <SubmitButton className="btn-secondary" name="decision" value="reject" pending="Saving…">
          Reject cleanup
        </SubmitButton>
      </div>
      <FormMessage state={state} fields={["reason"]} />
    </form>
  );
}

export function ChannelApprovalForm({ channel }: { channel: string }) {
  const [state, action] = useActionState(approveChannelAction, null);
  const errors = state && !state.ok ? state.fields : {};
  return (
    <form action={action} className="space-y-2" noValidate>
      <input type="hidden" name="channel" value={channel} />
      <ReasonField
        id={`channel-reason-${channel}`}
        error={errors.reason}
        defaultValue={state?.values?.reason}
      />
      <SubmitButton pending="Approving…">
        Approve channel<span className="sr-only"> {channel}</span>
      </SubmitButton>
      <FormMessage state={state} fields={["reason"]} />
    </form>
  );
}
