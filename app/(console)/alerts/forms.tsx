"use client";

import { useActionState } from "react";
import { FormMessage, SubmitButton } from "../../_ui/form-bits";
import { fireTestAction } from "./actions";

function when(value: string | null): string {
  return value ? `${value.slice(0, 19).replace("T", " ")} UTC` : "—";
}

/** Fire-test one rule; the report says when it was raised, delivered and resolved, per channel. */
export function FireTestForm({ rule }: { rule: string }) {
  const [state, action] = useActionState(fireTestAction, null);
  const report = state?.ok ? state.value : null;
  return (
    <div>
      <form action={action}>
        <input type="hidden" name="rule" value={rule} />
        <SubmitButton className="btn-secondary" pending="Firing…">
          Fire test<span className="sr-only"> of {rule}</span>
        </SubmitButton>
      </form>
      <FormMessage state={state} />
      {report ? (
        <div
          className={report.ok ? "notice-ok mt-2" : "notice-error mt-2"}
          role="status"
          data-testid="fire-test-report"
        >
          <dl className="grid grid-cols-[auto_1fr] gap-x-3 text-xs">
            <dt>Raised</dt>
            <dd data-testid="fire-test-raised">{when(report.raisedAt)}</dd>
            <dt>Delivered</dt>
            <dd data-testid="fire-test-delivered">{when(report.deliveredAt)}</dd>
            <dt>Resolved</dt>
            <dd data-testid="fire-test-resolved">{when(report.resolvedAt)}</dd>
            <dt>Resolution delivered</dt>
            <dd>{when(report.resolvedDeliveredAt)}</dd>
          </dl>
          <ul className="mt-1 text-xs" aria-label="Channels">
            {[...report.firing, ...report.resolved].map((o, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: firing then resolved, same channels
              <li key={i}>
                {i < report.firing.length ? "firing" : "resolved"} · {o.channel}: {o.status}
                {o.reason ? ` (${o.reason})` : ""}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </div>
  );
}
