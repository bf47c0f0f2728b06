"use client";

import { ActionButtonForm, ReasonForm } from "../../_ui/action-forms";
import { SubmitButton } from "../../_ui/form-bits";
import { discardEntryAction, retryAllAction, retryEntryAction } from "./actions";

export function RetryEntryForm({ id, label }: { id: string; label: string }) {
  return (
    <ActionButtonForm action={retryEntryAction} fields={{ id }} pending="Retrying…">
      Retry<span className="sr-only"> {label}</span>
    </ActionButtonForm>
  );
}

export function RetryAllForm({ count }: { count: number }) {
  return (
    <ActionButtonForm action={retryAllAction} pending="Retrying…" className="btn-primary">
      Retry all ({count})
    </ActionButtonForm>
  );
}

/** Discard needs a reason: the field sits in a disclosure, its error beside it. */
export function DiscardEntryForm({ id, label }: { id: string; label: string }) {
  return (
    <ReasonForm
      action={discardEntryAction}
      fields={{ id }}
      reasonId={`discard-reason-${id}`}
      reasonLabel="Reason for discarding"
      disclosure={
        <>
          Discard…<span className="sr-only"> {label}</span>
        </>
      }
    >
      <SubmitButton className="btn-secondary" pending="Discarding…">
        Discard entry
      </SubmitButton>
    </ReasonForm>
  );
}
