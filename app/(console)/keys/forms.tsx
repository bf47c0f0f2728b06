"use client";

import { useActionState } from "react";
import { ROLES } from "../../../lib/auth/roles";
import { ActionButtonForm } from "../../_ui/action-forms";
import { FormMessage, SubmitButton, TextField } from "../../_ui/form-bits";
import { createKeyAction, revokeKeyAction, revokeSessionAction } from "./actions";

export function CreateKeyForm() {
  const [state, action] = useActionState(createKeyAction, null);
  const errors = state && !state.ok ? state.fields : {};
  return (
    <div className="space-y-4">
      {state?.ok ? (
        <div className="notice-ok space-y-2" role="status">
          <p>
            Created <strong>{state.value.name}</strong> ({state.value.role}). Copy the key now: it
            is shown only this once.
          </p>
          <label htmlFor="created-key" className="field-label">
            New key
          </label>
          <input
            id="created-key"
            readOnly
            value={state.value.key}
            className="input font-mono"
            data-testid="created-key"
          />
        </div>
      ) : null}
      <form
        action={action}
        className="grid gap-4 sm:grid-cols-[1fr_auto_auto] sm:items-start"
        noValidate
      >
        <TextField
          name="name"
          label="Name"
          required
          defaultValue={state?.values?.name}
          error={errors.name}
          hint="Who or what uses it, e.g. ci-deploy."
        />
        <div>
          <label htmlFor="field-role" className="field-label">
            Role
          </label>
          <select
            id="field-role"
            name="role"
            defaultValue={state?.values?.role ?? "viewer"}
            className="input"
            aria-invalid={errors.role ? true : undefined}
            aria-describedby={errors.role ? "field-role-error" : undefined}
          >
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          {errors.role ? (
            <p id="field-role-error" className="field-error">
              {errors.role}
            </p>
          ) : null}
        </div>
        <div className="sm:pt-6">
          <SubmitButton pending="Creating…">Create key</SubmitButton>
        </div>
      </form>
      <FormMessage state={state} fields={["name", "role"]} />
    </div>
  );
}

export function RevokeKeyForm({ prefix, name }: { prefix: string; name: string }) {
  return (
    <ActionButtonForm action={revokeKeyAction} fields={{ prefix }} pending="Revoking…">
      Revoke<span className="sr-only"> {name}</span>
    </ActionButtonForm>
  );
}

export function RevokeSessionForm({ id, label }: { id: string; label: string }) {
  return (
    <ActionButtonForm action={revokeSessionAction} fields={{ session: id }} pending="Ending…">
      End<span className="sr-only"> session of {label}</span>
    </ActionButtonForm>
  );
}
