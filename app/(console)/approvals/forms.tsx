"use client";

import { ReasonForm } from "../../_ui/action-forms";
import { SubmitButton } from "../../_ui/form-bits";
import { approveChannelAction, decideCleanupAction } from "./actions";

/** Approve or reject one cleanup awaiting approval; the reason is required. */
export function CleanupDecisionForm({ runId }: { runId: string }) {
  return (
    <ReasonForm
      action={decideCleanupAction}
      fields={{ runId }}
      reasonId={`cleanup-reason-${runId}`}
    >
      <div className="flex flex-wrap gap-2">
        <SubmitButton name="decision" value="approve" pending="Saving…">
          Approve cleanup
        </SubmitButton>
        <SubmitButton className="btn-secondary" name="decision" value="reject" pending="Saving…">
          Reject cleanup
        </SubmitButton>
      </div>
    </ReasonForm>
  );
}

export function ChannelApprovalForm({ channel }: { channel: string }) {
  return (
    <ReasonForm
      action={approveChannelAction}
      fields={{ channel }}
      reasonId={`channel-reason-${channel}`}
    >
      <SubmitButton pending="Approving…">
        Approve channel<span className="sr-only"> {channel}</span>
      </SubmitButton>
    </ReasonForm>
  );
}
