"use client";

import { useActionState } from "react";
import { FormMessage, SubmitButton } from "../../_ui/form-bits";
import { resetBreakerAction } from "./actions";

export function ResetBreakerForm({ name }: { name: string }) {
  const [state, action] = useActionState(resetBreakerAction, null);
  return (
    <form action={action}>
      <input type="hidden" name="name" value={name} />
      <SubmitButton className="btn-secondary" pending="Resetting…">
        Reset<span className="sr-only"> {name}</span>
      </SubmitButton>
      <FormMessage state={state} />
    </form>
  );
}
