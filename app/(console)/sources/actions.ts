"use server";

import { redirect } from "next/navigation";
import { z } from "zod";
import { sendEvents } from "../../../inngest/send";
import { type FilterPreview, previewSourceFilter } from "../../../lib/console/preview";
import { dispatchOutbox } from "../../../lib/outbox/outbox";
import { pipelineDeps } from "../../../lib/pipeline/deps";
import { requestSync } from "../../../lib/pipeline/request-sync";
import {
  addSource,
  getSource,
  MAX_FILE_BYTES_RANGE,
  parseNewSource,
  removeSource,
  setSourceStatus,
} from "../../../lib/pipeline/source-records";
import { checkSourceAccess, sourceAccessPolicyFor } from "../../../lib/security/source-access";
import { consoleAction, type FormState, formValues } from "../../_lib/actions";
import { currentPath } from "../../_lib/session";

const globs = z
  .string()
  .max(100 * 501, "too many globs")
  .optional()
  .transform((text) =>
    (text ?? "")
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== ""),
  )
  .pipe(
    z.array(z.string().max(500, "a glob is at most 500 characters")).max(100, "at most 100 globs"),
  );

const { min, max } = MAX_FILE_BYTES_RANGE;
const newSourceForm = z.object({
  location: z
    .string()
    .trim()
    .min(1, "enter a local path, a git URL or a GitHub repository")
    .max(2000, "at most 2,000 characters"),
  name: z
    .string()
    .trim()
    .max(63, "at most 63 characters")
    .optional()
    .transform((v) => v || undefined),
  branch: z
    .string()
    .trim()
    .max(255, "at most 255 characters")
    .optional()
    .transform((v) => v || undefined),
  include: globs,
  exclude: globs,
  maxFileBytes: z
    .string()
    .trim()
    .optional()
    .refine((v) => !v || /^\d+$/.test(v), `a whole number of bytes from ${min} to ${max}`)
    .transform((v) => (v ? Number(v) : undefined))
    .refine(
      (v) => v === undefined || (v >= min && v <= max),
      `from ${min} to ${max} bytes (1 GiB)`,
    ),
});

async function signInAgain(): Promise<never> {
  const next = await currentPath();
  redirect(`/login?reason=expired&next=${encodeURIComponent(next)}`);
}

function parseForm(form: FormData) {
  const values = formValues(form);
  return { values, input: newSourceForm.parse(values) };
}

/** The add-source form's state: the last outcome, and the last preview of what would be indexed. */
export type SourceFormState = FormState<unknown> & {
  intent?: "add" | "preview";
  preview?: FilterPreview;
};

/**
 * The add-source form's one action: "Preview matches" (intent=preview) lists what the globs
 * match; "Add source" adds it. One state, so the form always shows the latest outcome.
 */
export async function sourceFormAction(
  prev: SourceFormState | null,
  form: FormData,
): Promise<SourceFormState> {
  if (form.get("intent") === "preview") {
    const result = await previewSource(form);
    return { ...result, intent: "preview", preview: result?.ok ? result.value : prev?.preview };
  }
  const result = await addSourceAction(form);
  return { ...result, intent: "add", preview: prev?.preview };
}

/** Lists the repository's files and applies the globs: what the source would index. */
async function previewSource(form: FormData): Promise<NonNullable<FormState<FilterPreview>>> {
  const values = formValues(form);
  const result = await consoleAction(
    { role: "admin", action: "sources.preview" },
    async ({ runtime, note }) => {
      const { input } = parseForm(form);
      note({ location: "redacted" });
      return previewSourceFilter(
        pipelineDeps(runtime),
        sourceAccessPolicyFor(runtime.config),
        input,
      );
    },
  );
  if (!result.ok && result.code === "signed_out") await signInAgain();
  return { ...result, values };
}

/** Adds the source (nothing is synced until asked). */
async function addSourceAction(form: FormData): Promise<NonNullable<FormState<{ name: string }>>> {
  const values = formValues(form);
  const result = await consoleAction(
    { role: "admin", action: "sources.add" },
    async ({ runtime, note }) => {
      const { input } = parseForm(form);
      const source = parseNewSource(input);
      await checkSourceAccess(source, sourceAccessPolicyFor(runtime.config));
      const row = await addSource(runtime.db, source);
      note({ source: row.name, kind: row.kind });
      return { name: row.name };
    },
  );
  if (result.ok) redirect(`/sources/${encodeURIComponent(result.value.name)}?added=1`);
  if (result.code === "signed_out") await signInAgain();
  return { ...result, values };
}

const syncForm = z.object({
  source: z.string().min(1).max(200),
  mode: z.enum(["incremental", "full"]),
});

/** Queues a sync and opens its run page (live progress). */
export async function syncSourceAction(
  _prev: FormState<{ runId: string }>,
  form: FormData,
): Promise<FormState<{ runId: string }>> {
  const values = formValues(form);
  const result = await consoleAction(
    { role: "operator", action: "sources.sync", target: values.source },
    async ({ runtime, caller, requestId, note }) => {
      const { source: name, mode } = syncForm.parse(values);
      const source = await getSource(runtime.db, name);
      const { run, event } = await requestSync(runtime.db, {
        sourceId: source.id,
        mode,
        trigger: "admin",
        requestedBy: caller.name,
        dedupeKey: `admin:${requestId}`,
      });
      const sent = await dispatchOutbox(runtime.db, sendEvents, { ids: [event.id] });
      note({ runId: run.id, mode, dispatched: sent.sent === 1 });
      return { runId: run.id };
    },
  );
  if (result.ok) redirect(`/runs/${result.value.runId}`);
  if (result.code === "signed_out") await signInAgain();
  return { ...result, values };
}

const statusForm = z.object({
  source: z.string().min(1).max(200),
  status: z.enum(["active", "paused"]),
});

/** Pauses (scheduled syncs and pushes skip it) or resumes a source. */
export async function setStatusAction(
  _prev: FormState<{ status: string }>,
  form: FormData,
): Promise<FormState<{ status: string }>> {
  const values = formValues(form);
  const result = await consoleAction(
    {
      role: "operator",
      action: values.status === "paused" ? "sources.pause" : "sources.resume",
      target: values.source,
    },
    async ({ runtime }) => {
      const { source: name, status } = statusForm.parse(values);
      const source = await getSource(runtime.db, name);
      await setSourceStatus(runtime.db, source.id, status);
      return { status };
    },
  );
  if (result.ok) redirect(`/sources/${encodeURIComponent(values.source ?? "")}`);
  if (result.code === "signed_out") await signInAgain();
  return { ...result, values };
}

const removeForm = z
  .object({ source: z.string().min(1).max(200), confirm: z.string().max(200) })
  .refine((v) => v.confirm.trim() === v.source, {
    message: "type the source's name exactly to confirm",
    path: ["confirm"],
  });

/** Removes a source with its documents, chunks and runs, once its name is typed to confirm. */
export async function removeSourceAction(
  _prev: FormState<{ name: string }>,
  form: FormData,
): Promise<FormState<{ name: string }>> {
  const values = formValues(form);
  const result = await consoleAction(
    { role: "admin", action: "sources.remove", target: values.source },
    async ({ runtime, note }) => {
      const { source } = removeForm.parse(values);
      const removed = await removeSource(runtime.db, source);
      note({ documents: removed.documents });
      return { name: removed.source.name };
    },
  );
  if (result.ok) redirect(`/sources?removed=${encodeURIComponent(result.value.name)}`);
  if (result.code === "signed_out") await signInAgain();
  return { ...result, values };
}
