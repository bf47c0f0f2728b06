"use client";

import { useActionState } from "react";
import { FormMessage, SubmitButton, TextField } from "../../_ui/form-bits";
import { signOffAction, startReplayAction } from "./actions";

const START_FIELDS = ["since", "until", "source", "minPassRate", "bundle"];

/** Start a replay of a recorded range (or of a bundle in the archive store); errors beside fields. */
export function StartReplayForm({ defaultMinPassRate }: { defaultMinPassRate: number }) {
  const [state, action] = useActionState(startReplayAction, null);
  const errors = state && !state.ok ? state.fields : {};
  const values = state?.values ?? {};
  return (
    <form action={action} className="space-y-3" noValidate aria-label="Start a replay">
      <div className="grid gap-3 sm:grid-cols-2">
        <TextField
          name="since"
          label="Since (UTC)"
          type="datetime-local"
          defaultValue={values.since}
          error={errors.since}
          hint="Start of the recorded range."
        />
        <TextField
          name="until"
          label="Until (UTC)"
          type="datetime-local"
          defaultValue={values.until}
          error={errors.until}
          hint="End of the range, at most 31 days after since."
        />
        <TextField
          name="source"
          label="Source"
          defaultValue={values.source}
          error={errors.source}
          hint="A source name or id; empty replays every source of the range."
        />
        <TextField
          name="minPassRate"
          label="Minimum pass rate"
          defaultValue={values.minPassRate}
          error={errors.minPassRate}
          placeholder={String(defaultMinPassRate)}
          hint={`From 0 to 1; default ${defaultMinPassRate} (REPLAY_MIN_PASS_RATE).`}
        />
      </div>
      <TextField
        name="bundle"
        label="Or a bundle key"
        defaultValue={values.bundle}
        error={errors.bundle}
        mono
        placeholder="archive:replay/bundles/2026-12-02/….json.gz"
        hint="A bundle imported with ballast replay import, instead of a range."
      />
      <SubmitButton pending="Queueing…">Start replay</SubmitButton>
      <FormMessage state={state} fields={START_FIELDS} />
    </form>
  );
}

/** Approve or reject one scorecard, with the reason; the signer is the signed-in admin. */
export function SignOffForm({ id, label }: { id: string; label: string }) {
  const [state, action] = useActionState(signOffAction, null);
  const errors = state && !state.ok ? state.fields : {};
  const fieldId = `signoff-reason-${id}`;
  return (
    <details className="mt-1" open={Boolean(errors.reason)}>
      <summary className="cursor-pointer text-sm">
        Sign off…<span className="sr-only"> {label}</span>
      </summary>
      <form action={action} className="mt-2 space-y-2" noValidate>
        <input type="hidden" name="id" value={id} />
        <label htmlFor={fieldId} className="field-label">
          Reason
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
        <div className="flex flex-wrap gap-2">
          <SubmitButton name="decision" value="approve" pending="Saving…">
            Approve<span className="sr-only"> {label}</span>
          </SubmitButton>
          <SubmitButton className="btn-secondary" name="decision" value="reject" pending="Saving…">
            Reject<span className="sr-only"> {label}</span>
          </SubmitButton>
        </div>
        <FormMessage state={state} fields={["reason"]} />
      </form>
    </details>
  );
}
