"use client";

import { useActionState } from "react";
import type { FilterPreview } from "../../../lib/console/preview";
import { FormMessage, SubmitButton, TextField } from "../../_ui/form-bits";
import { removeSourceAction, setStatusAction, sourceFormAction, syncSourceAction } from "./actions";

const SOURCE_FIELDS = ["location", "name", "branch", "include", "exclude", "maxFileBytes"];

/** Add a source: location, branch, globs, size limit; "Preview matches" shows what the globs match. */
export function AddSourceForm({ localRoots }: { localRoots: string[] }) {
  const [state, action, pending] = useActionState(sourceFormAction, null);
  const values = state?.values ?? {};
  const errors = state && !state.ok ? state.fields : {};
  return (
    <div className="grid gap-6 lg:grid-cols-2">
      <form action={action} className="card space-y-4" noValidate>
        <FormMessage state={state} fields={SOURCE_FIELDS} />
        <TextField
          name="location"
          label="Repository"
          required
          mono
          defaultValue={values.location}
          error={errors.location}
          placeholder="github:owner/repo, https://git.example.com/r.git or /path/to/repo"
          hint={
            <>
              A GitHub repository (<code>github:owner/repo</code> or its URL), a git URL, or a local
              git repository
              {localRoots.length > 0 ? (
                <>
                  {" "}
                  under{" "}
                  {localRoots.map((r, i) => (
                    <span key={r}>
                      {i > 0 ? ", " : ""}
                      <code>{r}</code>
                    </span>
                  ))}
                </>
              ) : (
                " (local paths are off: SOURCE_LOCAL_ROOTS is empty; the CLI can add them)"
              )}
              .
            </>
          }
        />
        <div className="grid gap-4 sm:grid-cols-2">
          <TextField
            name="name"
            label="Name"
            defaultValue={values.name}
            error={errors.name}
            hint="Default: the repository's name."
          />
          <TextField
            name="branch"
            label="Branch"
            defaultValue={values.branch}
            error={errors.branch}
            hint="Default: the default branch."
          />
        </div>
        <TextField
          name="include"
          label="Include globs"
          multiline
          mono
          defaultValue={values.include}
          error={errors.include}
          hint="One per line, e.g. src/** or docs/*.md. Empty: every file."
        />
        <TextField
          name="exclude"
          label="Exclude globs"
          multiline
          mono
          defaultValue={values.exclude}
          error={errors.exclude}
          hint="One per line, e.g. **/*.test.ts. Lock files, images and build output are always skipped."
        />
        <TextField
          name="maxFileBytes"
          label="Largest file (bytes)"
          inputMode="numeric"
          defaultValue={values.maxFileBytes}
          error={errors.maxFileBytes}
          hint="Larger files are skipped. Default: MAX_FILE_BYTES."
        />
        <div className="flex flex-wrap gap-2">
          <SubmitButton name="intent" value="add" pending="Working…">
            Add source
          </SubmitButton>
          <SubmitButton name="intent" value="preview" className="btn-secondary" pending="Working…">
            Preview matches
          </SubmitButton>
        </div>
      </form>
      <PreviewResult preview={state?.preview} pending={pending} />
    </div>
  );
}

function PreviewResult({
  preview,
  pending,
}: {
  preview: FilterPreview | undefined;
  pending: boolean;
}) {
  return (
    <section
      className="card"
      aria-labelledby="preview-title"
      aria-busy={pending}
      aria-live="polite"
    >
      <h2 id="preview-title" className="text-base font-semibold">
        What would be indexed
      </h2>
      {!preview ? (
        <p className="muted mt-2 text-sm">
          Fill in the repository and globs, then choose <strong>Preview matches</strong>: the files
          at the branch tip are listed and filtered exactly as a sync would, and nothing is saved.
        </p>
      ) : preview.empty ? (
        <p className="mt-2 text-sm">The repository has no commits yet: nothing to index.</p>
      ) : (
        <div className="mt-2 space-y-3 text-sm">
          <p>
            <strong className="tabular-nums" data-testid="preview-matched">
              {preview.matched}
            </strong>{" "}
            of {preview.total} files match at <code>{preview.branch}</code> (
            <code>{preview.commit?.slice(0, 10)}</code>).
          </p>
          {Object.keys(preview.skippedByReason).length > 0 ? (
            <p className="muted">
              Skipped:{" "}
              {Object.entries(preview.skippedByReason)
                .map(([reason, n]) => `${n} ${reason}`)
                .join(", ")}
              .
            </p>
          ) : null}
          <ul
            className="max-h-80 overflow-auto rounded-md border border-slate-200 p-2 font-mono text-xs dark:border-slate-700"
            aria-label="Matching files"
          >
            {preview.matchedPaths.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
          {preview.matched > preview.matchedPaths.length ? (
            <p className="muted">…and {preview.matched - preview.matchedPaths.length} more.</p>
          ) : null}
        </div>
      )}
    </section>
  );
}

/** Incremental or full sync of one source (operator). */
export function SyncForm({ source }: { source: string }) {
  const [state, action] = useActionState(syncSourceAction, null);
  return (
    <form action={action} className="flex flex-wrap items-center gap-2">
      <input type="hidden" name="source" value={source} />
      <SubmitButton name="mode" value="incremental" pending="Starting…">
        Sync changes
      </SubmitButton>
      <SubmitButton name="mode" value="full" className="btn-secondary" pending="Starting…">
        Full sync
      </SubmitButton>
      <div className="w-full">
        <FormMessage state={state} />
      </div>
    </form>
  );
}

export function StatusForm({ source, status }: { source: string; status: "active" | "paused" }) {
  const [state, action] = useActionState(setStatusAction, null);
  const next = status === "active" ? "paused" : "active";
  return (
    <form action={action}>
      <input type="hidden" name="source" value={source} />
      <input type="hidden" name="status" value={next} />
      <SubmitButton className="btn-secondary" pending="Saving…">
        {next === "paused" ? "Pause" : "Resume"}
      </SubmitButton>
      <FormMessage state={state} />
    </form>
  );
}

export function RemoveForm({ source }: { source: string }) {
  const [state, action] = useActionState(removeSourceAction, null);
  const error = state && !state.ok ? state.fields.confirm : undefined;
  return (
    <form action={action} className="space-y-4" noValidate>
      <FormMessage state={state} fields={["confirm"]} />
      <input type="hidden" name="source" value={source} />
      <TextField
        name="confirm"
        label={`Type ${source} to confirm`}
        required
        mono
        error={error}
        defaultValue={state?.values?.confirm}
      />
      <SubmitButton className="btn-danger" pending="Removing…">
        Remove {source} and its index
      </SubmitButton>
    </form>
  );
}
