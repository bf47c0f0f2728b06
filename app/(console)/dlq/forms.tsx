"use client";

import { useActionState } from "react";
import { FormMessage, SubmitButton } from "../../_ui/form-bits";
import { discardEntryAction, retryAllAction, retryEntryAction } from "./actions";

export function RetryEntryForm({ id, label }: { id: string; label: string }) {
  const [state, action] = useActionState(retryEntryAction, null);
  return (
    <form action={action}>
      <input type="hidden" name="id" value={id} />
      <SubmitButton className="btn-secondary" pending="Retrying…">
        Retry<span className="sr-only"> {label}</span>
      </SubmitButton>
      <FormMessage state={state} />
    </form>
  );
}

export function RetryAllForm({ count }: { count: number }) {
  const [state, action] = useActionState(retryAllAction, null);
  return (
    <form action={action}>
      <SubmitButton pending="Retrying…">Retry all ({count})</SubmitButton>
      <FormMessage state={state} />
    </form>
  );
}

/** Discard needs a reason: the field sits in a disclosure, its error beside it. */
export function DiscardEntryForm({ id, label }: { id: string; label: string }) {
  const [state, action] = useActionState(discardEntryAction, null);
  const errors = state && !state.ok ? state.fields : {};
  const fieldId = `discard-reason-${id}`;
  return (
    <details className="mt-1" open={Boolean(errors.reason)}>
      <summary className="cursor-pointer text-sm">
        Discard…<span className="sr-only"> {label}</span>
      </summary>
      <form action={action} className="mt-2 space-y-2" noValidate>
        <input type="hidden" name="id" value={id} />
        <label htmlFor={fieldId} className="field-label">
          Reason for discarding
        </label>
        <input
          id={fieldId}
          name="reason"
          className="input"
          required
          defaultValue={state?.values?.reason}
          aria-invalid={errors.reason ? true : undefined}
          aria-describedby={errors.reason ? `${fieldId}-error` : undefined}
        />
        {errors.reason ? (
          <p id={`${fieldId}-error`} className="field-error">
            {errors.reason}
          </p>
        ) : null}
        <SubmitButton className="btn-secondary" pending="Discarding…">
          Discard entry
        </SubmitButton>
        <FormMessage state={state} fields={["reason"]} />
      </form>
    </details>
  );
}
