import { z } from "zod";
import type { Database } from "../../db/client";
import type { ArchiveStore } from "../archive";
import { NotFoundError } from "../errors";
import type { OutboxEvent } from "../outbox/outbox";
import { getSource } from "../pipeline/source-records";
import { replayRange } from "../workflows/events";
import { requestWorkflow } from "../workflows/request";
import { ARCHIVE_REF } from "./bundle";
import { type Scorecard, signOffScorecard } from "./scorecard";

/**
 * Starting a replay on request (`POST /api/admin/replays`, the console's Replays page): a
 * range of recorded traffic (`since`/`until`, optionally one source) or a bundle already in
 * the archive store, queued as `workflow/replay.requested` through the outbox. The replay
 * workflow exports the range into the archive store, replays it in the sandbox and stores the
 * scorecard (listed with the others); a requested replay raises no alert — the scorecard
 * shows the gate.
 */

/** The longest range one request may replay (a day is the nightly's). */
export const MAX_REPLAY_RANGE_DAYS = 31;

const iso = (field: string) =>
  z.iso.datetime({
    offset: true,
    message: `${field} must be an ISO 8601 time with a zone, e.g. 2026-12-01T00:00:00Z`,
  });

export const replayRequestInput = z
  .strictObject({
    since: iso("since").optional(),
    until: iso("until").optional(),
    bundle: z
      .string()
      .trim()
      .max(500, "at most 500 characters")
      .transform((key) => (key.startsWith(ARCHIVE_REF) ? key.slice(ARCHIVE_REF.length) : key))
      .refine((key) => replayRange.shape.bundle.safeParse(key).success, {
        message: "an archive key of a bundle, e.g. replay/bundles/2026-12-02/<id>.json.gz",
      })
      .optional(),
    source: z
      .string()
      .trim()
      .min(1, "a source name or id")
      .max(200, "at most 200 characters")
      .optional(),
    minPassRate: z
      .number({ message: "a number from 0 to 1, e.g. 0.95" })
      .min(0, "a number from 0 to 1")
      .max(1, "a number from 0 to 1")
      .optional(),
  })
  .superRefine((input, ctx) => {
    if (input.bundle) {
      if (input.since || input.until)
        ctx.addIssue({
          code: "custom",
          path: ["bundle"],
          message: "either a bundle or a since/until range, not both",
        });
      if (input.source)
        ctx.addIssue({
          code: "custom",
          path: ["source"],
          message: "a bundle is replayed whole; a source narrows a range",
        });
      return;
    }
    if (!input.since)
      ctx.addIssue({ code: "custom", path: ["since"], message: "since is required (or a bundle)" });
    if (!input.until)
      ctx.addIssue({ code: "custom", path: ["until"], message: "until is required (or a bundle)" });
    if (!input.since || !input.until) return;
    const span = Date.parse(input.until) - Date.parse(input.since);
    if (span <= 0)
      ctx.addIssue({ code: "custom", path: ["until"], message: "until must be after since" });
    else if (span > MAX_REPLAY_RANGE_DAYS * 86_400_000)
      ctx.addIssue({
        code: "custom",
        path: ["until"],
        message: `at most ${MAX_REPLAY_RANGE_DAYS} days per replay`,
      });
  });
export type ReplayRequestInput = z.output<typeof replayRequestInput>;

/** A `datetime-local` value (no zone) is read as UTC, as the console's form says; an ISO time as is. */
function utc(value: string | undefined): string | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  const local = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(:\d{2}(?:\.\d+)?)?$/.exec(text);
  return local ? `${local[1]}${local[2] ?? ":00"}Z` : text;
}

/**
 * The console form's text fields as the request the API takes, checked by the same schema
 * (a ZodError names the field: since, until, source, minPassRate, bundle). Empty fields are
 * absent; `datetime-local` times are UTC.
 */
export function replayInputFromForm(
  values: Record<string, string | undefined>,
): ReplayRequestInput {
  const optional = (name: string) => values[name]?.trim() || undefined;
  const rate = optional("minPassRate");
  return replayRequestInput.parse({
    since: utc(values.since),
    until: utc(values.until),
    bundle: optional("bundle"),
    source: optional("source"),
    minPassRate: rate === undefined ? undefined : Number(rate),
  });
}

/**
 * Checks what the request names exists (the source, the bundle), then queues the replay in the
 * outbox; the caller dispatches it. Returns the outbox event.
 */
export async function requestReplay(
  env: { db: Database; archive: ArchiveStore },
  input: ReplayRequestInput,
  options: { requestedBy: string; correlationId: string },
): Promise<OutboxEvent> {
  let source: string | undefined;
  if (input.source) source = (await getSource(env.db, input.source)).id;
  if (input.bundle && !(await env.archive.head(input.bundle)))
    throw new NotFoundError(`no bundle ${input.bundle} in the archive store`);
  return requestWorkflow(env.db, "replay", {
    requestedBy: options.requestedBy,
    correlationId: options.correlationId,
    data: {
      ...(input.bundle
        ? { bundle: input.bundle }
        : { since: input.since as string, until: input.until as string }),
      ...(source ? { source } : {}),
      ...(input.minPassRate !== undefined ? { minPassRate: input.minPassRate } : {}),
    },
  });
}

/**
 * A sign-off from the API or the console (admin): approve (recorded as `ship`, as `ballast
 * replay sign-off --decision ship`) or reject (`hold`), with the reason as its note; who signs
 * is the caller, never a field.
 */
export const signOffInput = z.strictObject({
  decision: z.enum(["approve", "reject"], { message: "approve or reject" }),
  reason: z
    .string({ message: "say why (3-1000 characters)" })
    .trim()
    .min(3, "say why (3-1000 characters)")
    .max(1000, "at most 1000 characters"),
});
export type SignOffInput = z.output<typeof signOffInput>;

export async function signOffReplay(
  db: Database,
  id: string,
  input: SignOffInput,
  by: string,
): Promise<Scorecard> {
  return signOffScorecard(db, id, {
    by,
    decision: input.decision === "approve" ? "ship" : "hold",
    note: input.reason,
  });
}
