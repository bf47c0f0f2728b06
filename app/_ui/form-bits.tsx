"use client";

import type { ReactNode } from "react";
import { useFormStatus } from "react-dom";
import type { FormState } from "../_lib/actions";

/** A submit button that says it is working while its form's action runs. */
export function SubmitButton({
  children,
  pending,
  className = "btn-primary",
  name,
  value,
  formAction,
}: {
  children: ReactNode;
  pending?: string;
  className?: string;
  name?: string;
  value?: string;
  formAction?: (form: FormData) => void;
}) {
  const status = useFormStatus();
  return (
    <button
      type="submit"
      className={className}
      disabled={status.pending}
      name={name}
      value={value}
      formAction={formAction}
    >
      {status.pending && pending ? pending : children}
    </button>
  );
}

/** The form-level outcome of an action: its message when it failed (403, 422 without a field, 5xx). */
export function FormMessage({
  state,
  fields = [],
}: {
  state: FormState<unknown>;
  fields?: string[];
}) {
  if (!state || state.ok) return null;
  const shownBesideField = fields.some((f) => state.fields[f]);
  if (shownBesideField && state.status === 422) return null;
  return (
    <p className="notice-error" role="alert">
      {state.status === 403 ? "Not allowed: " : ""}
      {state.fields.form ?? state.message}
    </p>
  );
}

/** A labelled input with its hint and its error beside it. */
export function TextField({
  name,
  id = `field-${name}`,
  label,
  hint,
  error,
  defaultValue,
  placeholder,
  required,
  multiline,
  type = "text",
  inputMode,
  mono,
}: {
  name: string;
  /** The input's id (default `field-<name>`); give one when a page repeats the form. */
  id?: string;
  label: string;
  hint?: ReactNode;
  error?: string;
  defaultValue?: string;
  placeholder?: string;
  required?: boolean;
  multiline?: boolean;
  type?: string;
  inputMode?: "numeric" | "text";
  mono?: boolean;
}) {
  const describedBy =
    [error ? `${id}-error` : null, hint ? `${id}-hint` : null].filter(Boolean).join(" ") ||
    undefined;
  const common = {
    id,
    name,
    defaultValue,
    placeholder,
    required,
    "aria-invalid": error ? true : undefined,
    "aria-describedby": describedBy,
    className: `input${mono ? " font-mono" : ""}`,
  };
  return (
    <div>
      <label htmlFor={id} className="field-label">
        {label}
        {required ? null : <span className="muted font-normal"> (optional)</span>}
      </label>
      {multiline ? (
        <textarea rows={4} {...common} />
      ) : (
        <input type={type} inputMode={inputMode} {...common} />
      )}
      {error ? (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      ) : null}
      {hint ? (
        <p id={`${id}-hint`} className="field-hint">
          {hint}
        </p>
      ) : null}
    </div>
  );
}
