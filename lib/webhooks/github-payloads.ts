import { z } from "zod";
import { ValidationError } from "../errors";

/**
 * The GitHub webhook events Ballast acts on, validated with zod and reduced to the fields it
 * uses (unknown fields are dropped). Everything else parses as `{ kind: "ignored" }` so the
 * route can acknowledge it with a 2xx and move on.
 */

const objectId = z
  .string()
  .regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, "expected a 40 or 64 hex digit sha");
const fullName = z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'expected "owner/repo"');
const id = z.number().int().nonnegative();
const paths = z.array(z.string()).default([]);

const pushSchema = z.object({
  ref: z.string().min(1),
  before: objectId,
  after: objectId,
  created: z.boolean(),
  deleted: z.boolean(),
  forced: z.boolean(),
  repository: z.object({
    full_name: fullName,
    default_branch: z.string().min(1).optional(),
  }),
  installation: z.object({ id }).optional(),
  head_commit: z.object({ id: objectId, timestamp: z.string() }).nullable().optional(),
  commits: z
    .array(z.object({ id: objectId, added: paths, modified: paths, removed: paths }))
    .default([]),
});

const pingSchema = z.object({
  zen: z.string(),
  hook_id: id,
  repository: z.object({ full_name: fullName }).optional(),
  installation: z.object({ id }).optional(),
});

const account = z
  .object({
    login: z.string().optional(),
    slug: z.string().optional(),
    name: z.string().optional(),
  })
  .nullable()
  .optional();

const repositoryRefs = z.array(z.object({ full_name: fullName }));

const installationSchema = z.object({
  action: z.string().min(1),
  installation: z.object({ id, account }),
  repositories: repositoryRefs.optional(),
});

const installationRepositoriesSchema = z.object({
  action: z.string().min(1),
  installation: z.object({ id, account }),
  repository_selection: z.string().optional(),
  repositories_added: repositoryRefs.default([]),
  repositories_removed: repositoryRefs.default([]),
});

export interface GitHubPushEvent {
  kind: "push";
  ref: string;
  /** The branch for refs/heads/*; null for tags and other refs. */
  branch: string | null;
  before: string;
  after: string;
  created: boolean;
  deleted: boolean;
  forced: boolean;
  repository: { fullName: string; defaultBranch: string | null };
  installationId: number | null;
  headCommit: { id: string; timestamp: string } | null;
  /** Up to 20 commits per push (GitHub's limit), with file counts only. */
  commits: { id: string; added: number; modified: number; removed: number }[];
}

export interface GitHubPingEvent {
  kind: "ping";
  zen: string;
  hookId: number;
  repositoryFullName: string | null;
  installationId: number | null;
}

export interface GitHubInstallationEvent {
  kind: "installation";
  /** created, deleted, suspend, unsuspend, new_permissions_accepted, … */
  action: string;
  installationId: number;
  accountLogin: string | null;
  /** Repositories granted (sent with created / deleted / new_permissions_accepted). */
  repositories: string[];
}

export interface GitHubInstallationRepositoriesEvent {
  kind: "installation_repositories";
  /** added | removed */
  action: string;
  installationId: number;
  accountLogin: string | null;
  added: string[];
  removed: string[];
}

export interface GitHubIgnoredEvent {
  kind: "ignored";
  event: string;
}

export type GitHubEvent =
  | GitHubPushEvent
  | GitHubPingEvent
  | GitHubInstallationEvent
  | GitHubInstallationRepositoriesEvent
  | GitHubIgnoredEvent;

function parse<T extends z.ZodType>(schema: T, eventName: string, body: unknown): z.output<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 5).map((issue) => ({
    path: issue.path.map(String).join(".") || "(root)",
    message: issue.message,
  }));
  const summary = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
  const more =
    result.error.issues.length > issues.length
      ? ` (and ${result.error.issues.length - issues.length} more)`
      : "";
  throw new ValidationError(`invalid GitHub ${eventName} payload: ${summary}${more}`, issues);
}

function accountLogin(value: z.output<typeof account>): string | null {
  return value?.login ?? value?.slug ?? value?.name ?? null;
}

/**
 * Parses a webhook body by its `X-GitHub-Event` name. A body that does not match the event's
 * schema is a ValidationError naming the first problems; an event Ballast does not handle is
 * `{ kind: "ignored", event }`.
 */
export function parseGitHubEvent(eventName: string, body: unknown): GitHubEvent {
  const event = typeof eventName === "string" ? eventName.trim() : "";
  if (event === "") {
    throw new ValidationError("missing GitHub event name (X-GitHub-Event header)", [
      { path: "x-github-event", message: "required" },
    ]);
  }
  switch (event) {
    case "push": {
      const p = parse(pushSchema, event, body);
      return {
        kind: "push",
        ref: p.ref,
        branch: p.ref.startsWith("refs/heads/") ? p.ref.slice("refs/heads/".length) : null,
        before: p.before,
        after: p.after,
        created: p.created,
        deleted: p.deleted,
        forced: p.forced,
        repository: {
          fullName: p.repository.full_name,
          defaultBranch: p.repository.default_branch ?? null,
        },
        installationId: p.installation?.id ?? null,
        headCommit: p.head_commit
          ? { id: p.head_commit.id, timestamp: p.head_commit.timestamp }
          : null,
        commits: p.commits.map((c) => ({
          id: c.id,
          added: c.added.length,
          modified: c.modified.length,
          removed: c.removed.length,
        })),
      };
    }
    case "ping": {
      const p = parse(pingSchema, event, body);
      return {
        kind: "ping",
        zen: p.zen,
        hookId: p.hook_id,
        repositoryFullName: p.repository?.full_name ?? null,
        installationId: p.installation?.id ?? null,
      };
    }
    case "installation": {
      const p = parse(installationSchema, event, body);
      return {
        kind: "installation",
        action: p.action,
        installationId: p.installation.id,
        accountLogin: accountLogin(p.installation.account),
        repositories: (p.repositories ?? []).map((r) => r.full_name),
      };
    }
    case "installation_repositories": {
      const p = parse(installationRepositoriesSchema, event, body);
      return {
        kind: "installation_repositories",
        action: p.action,
        installationId: p.installation.id,
        accountLogin: accountLogin(p.installation.account),
        added: p.repositories_added.map((r) => r.full_name),
        removed: p.repositories_removed.map((r) => r.full_name),
      };
    }
    default:
      return { kind: "ignored", event };
  }
}
