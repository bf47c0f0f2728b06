"use client";

import { type ReactNode, useActionState } from "react";
import type { FormState } from "../_lib/actions";
import { FormMessage, SubmitButton, TextField } from "./form-bits";

/** A server action as a form's useActionState sees it (app/(console)/<page>/actions.ts). */
export type FormAction<T> = (state: FormState<T>, form: FormData) => Promise<FormState<T>>;

function HiddenFields({ fields }: { fields: Record<string, string> }) {
  return (
    <>
      {Object.entries(fields).map(([name, value]) => (
        <input key={name} type="hidden" name={name} value={value} />
      ))}
    </>
  );
}

/**
 * One button that runs a server action on one thing (retry an entry, reset a breaker, revoke
 * a key): the thing's id in hidden fields, "working…" while it runs, the refusal (403, 422,
 * 5xx) shown below it.
 */
export function ActionButtonForm<T>({
  action,
  fields = {},
  pending,
  className = "btn-secondary",
  children,
}: {
  action: FormAction<T>;
  fields?: Record<string, string>;
  pending: string;
  className?: string;
  children: ReactNode;
}) {
  const [state, formAction] = useActionState(action, null);
  return (
    <form action={formAction}>
      <HiddenFields fields={fields} />
      <SubmitButton className={className} pending={pending}>
        {children}
      </SubmitButton>
      <FormMessage state={state} />
    </form>
  );
}

/** The required "reason" input of a decision, its error beside it. */
export function ReasonField({
  id,
  label = "Reason",
  error,
  defaultValue,
}: {
  id: string;
  label?: string;
  error?: string;
  defaultValue?: string;
}) {
  return (
    <TextField
      name="reason"
      id={id}
      label={label}
      required
      error={error}
      defaultValue={defaultValue}
    />
  );
}

/**
 * A decision that needs a reason (discard, approve, reject): hidden fields naming the thing,
 * the reason field (validated on the server, its error beside it, the typed reason kept), the
 * submit buttons given as children, and the form-level refusal. With `disclosure` the form sits
 * in a <details> whose summary is that text, opened again when the reason was refused.
 */
export function ReasonForm<T>({
  action,
  fields = {},
  reasonId,
  reasonLabel,
  disclosure,
  children,
}: {
  action: FormAction<T>;
  fields?: Record<string, string>;
  reasonId: string;
  reasonLabel?: string;
  disclosure?: ReactNode;
  children: ReactNode;
}) {
  const [state, formAction] = useActionState(action, null);
  const errors = state && !state.ok ? state.fields : {};
  const form = (
    <form action={formAction} className={disclosure ? "mt-2 space-y-2" : "space-y-2"} noValidate>
      <HiddenFields fields={fields} />
      <ReasonField
        id={reasonId}
        label={reasonLabel}
        error={errors.reason}
        defaultValue={state?.values?.reason}
      />
      {children}
      <FormMessage state={state} fields={["reason"]} />
    </form>
  );
  if (!disclosure) return form;
  return (
    <details className="mt-1" open={Boolean(errors.reason)}>
      <summary className="cursor-pointer text-sm">{disclosure}</summary>
      {form}
    </details>
  );
}
