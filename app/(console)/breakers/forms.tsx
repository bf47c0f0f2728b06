"use client";

import { ActionButtonForm } from "../../_ui/action-forms";
import { resetBreakerAction } from "./actions";

export function ResetBreakerForm({ name }: { name: string }) {
  return (
    <ActionButtonForm action={resetBreakerAction} fields={{ name }} pending="Resetting…">
      Reset<span className="sr-only"> {name}</span>
    </ActionButtonForm>
  );
}
