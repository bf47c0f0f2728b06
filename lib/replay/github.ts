import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { z } from "zod";
import type { Config } from "../config";
import { errorMessage, NotFoundError } from "../errors";
import { createScrubber } from "../log/scrub";
import { createPathFilter } from "../sources/filter";
import { GitHubSourceReader } from "../sources/github";
import { type FileEntry, OBJECT_ID, type SourceLogger } from "../sources/types";

/**
 * The repository state of a GitHub source in a replay bundle, and the recorded-responses
 * GitHub API the replay sandbox reads it from.
 *
 * A GitHub source is read over the REST API, so its "git bundle" is what the sync asked the
 * API: the tree listings at the commits the runs planned from and to, the compare results
 * between them (trimmed to what the reader uses: no patches, no commit authors), and the
 * blobs of every file the filters let through — each blob once per sha, gzipped. All of it is
 * content-addressed (commit, tree and blob ids), so reading it again at export time gives the
 * very answers the recorded syncs got, and nothing is stored per sync on production. Blobs are
 * file contents: repository state like a git bundle, carried in the bundle (never in the
 * ledger) and not scrubbed (scrubbing would change the content and its id).
 *
 * In the sandbox, `GitHubReplay.fetch` answers the GitHub reader — the same Octokit code as in
 * production — from this state with no network: the repository and branch ref from the head
 * the runner sets for each replayed run, trees and compare from the recorded responses, blobs
 * from the recorded contents. A request the bundle cannot answer gets HTTP 410 with a message
 * naming it (not retried, so the replay reports it at once).
 */

/** Where the sandbox's GitHub reader points: never resolved, every request is answered in process. */
export const REPLAY_GITHUB_API = "https://github.replay.invalid";
/** One recorded blob, unpacked, may not exceed this (a gzip bomb in a hostile bundle). */
const MAX_BLOB_BYTES = 256 * 1024 ** 2;

export const githubStateSchema = z.object({
  /** "owner/repo" as the source reads it. */
  repository: z.string().max(200),
  /** Recorded tree and compare answers by request path (relative to the API base URL). */
  responses: z.record(
    z.string().max(2000),
    z.object({
      status: z.number().int().min(200).max(499),
      /** The answer had a `Link: <…>; rel="next"` header. */
      next: z.boolean().optional(),
      body: z.unknown(),
    }),
  ),
  /** base64 of the gzipped content per blob id; null when GitHub no longer had the blob. */
  blobs: z.record(z.string().regex(OBJECT_ID), z.string().nullable()),
});
export type GitHubState = z.output<typeof githubStateSchema>;

export interface RecordedGitHub {
  commits: string[];
  missing: string[];
  github: GitHubState | null;
  reason?: string;
}

export interface GitHubSourceRow {
  location: string;
  branch: string | null;
  include: string[];
  exclude: string[];
  maxFileBytes: number | null;
  githubInstallationId: number | null;
}

export interface RecordedPlan {
  toCommit?: string | null;
  cursorBefore?: { commit?: string | null };
}

const TREE = /^\/repos\/[^/]+\/[^/]+\/git\/trees\/[^/?]+(?:\?.*)?$/;
const COMPARE = /^\/repos\/[^/]+\/[^/]+\/compare\/[^/?]+(?:\?.*)?$/;

/** What the reader uses of an answer: nothing else is kept (no patches, no authors or emails). */
function trim(kind: "tree" | "compare", status: number, body: unknown): unknown {
  const data = (body ?? {}) as Record<string, unknown>;
  if (status >= 300) return { message: String(data.message ?? "").slice(0, 200) };
  if (kind === "tree")
    return {
      sha: data.sha,
      truncated: data.truncated === true,
      tree: ((data.tree as Record<string, unknown>[] | undefined) ?? []).map((item) => ({
        path: item.path,
        mode: item.mode,
        type: item.type,
        sha: item.sha,
        ...(typeof item.size === "number" ? { size: item.size } : {}),
      })),
    };
  const files = data.files as Record<string, unknown>[] | undefined;
  return {
    status: data.status,
    ...(files
      ? {
          files: files.map((f) => ({
            filename: f.filename,
            status: f.status,
            ...(f.previous_filename ? { previous_filename: f.previous_filename } : {}),
          })),
        }
      : {}),
  };
}

function urlOf(input: Parameters<typeof fetch>[0]): string {
  return typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
}

/**
 * Reads, through the GitHub API (production's credentials), what a replay of these plans
 * will ask: the listing at every commit they planned from or to, the compare between each
 * cursor and the next head, and the blobs of every file the source's filters let through.
 */
export async function recordGitHubState(
  config: Config,
  source: GitHubSourceRow,
  plans: RecordedPlan[],
  options: { fetch?: typeof fetch; log?: SourceLogger } = {},
): Promise<RecordedGitHub> {
  const commits: string[] = [];
  const pairs: [string, string][] = [];
  const valid = (c: string | null | undefined): c is string => !!c && OBJECT_ID.test(c);
  let previous: string | undefined;
  for (const plan of plans) {
    const from = plan.cursorBefore?.commit;
    const to = plan.toCommit;
    for (const c of [from, to]) if (valid(c) && !commits.includes(c)) commits.push(c);
    if (!valid(to)) continue;
    if (valid(from) && from !== to) pairs.push([from, to]);
    if (previous && previous !== to && previous !== from) pairs.push([previous, to]);
    previous = to;
  }
  const apiUrl = config.github.apiUrl.replace(/\/+$/, "");
  const base = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const responses: GitHubState["responses"] = {};
  const recording: typeof fetch = async (input, init) => {
    const response = await base(input, init);
    const url = urlOf(input);
    const method = (init?.method ?? "GET").toUpperCase();
    const rel = url.startsWith(apiUrl) ? url.slice(apiUrl.length) : undefined;
    const kind = rel && TREE.test(rel) ? "tree" : rel && COMPARE.test(rel) ? "compare" : undefined;
    // Rate limits and server errors are the moment's, not the repository's: not kept.
    const lasting =
      response.status < 500 &&
      response.status !== 429 &&
      response.status !== 403 &&
      response.status !== 401;
    if (method === "GET" && rel && kind && lasting) {
      const body = await response
        .clone()
        .json()
        .catch(() => null);
      responses[rel] = {
        status: response.status,
        ...(/\brel="next"/.test(response.headers.get("link") ?? "") ? { next: true } : {}),
        body: trim(kind, response.status, body),
      };
    }
    return response;
  };
  const reader = new GitHubSourceReader(
    { kind: "github", location: source.location, branch: source.branch ?? undefined },
    {
      github: {
        apiUrl,
        token: config.github.token,
        appId: config.github.appId,
        privateKey: config.github.privateKey,
        installationId: source.githubInstallationId ?? undefined,
      },
      fetch: recording,
      log: options.log,
    },
  );
  const scrub = createScrubber(config.secrets);
  try {
    const listings = new Map<string, FileEntry[]>();
    const missing: string[] = [];
    for (const commit of commits) {
      try {
        listings.set(commit, await reader.listFiles(commit));
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
        missing.push(commit);
      }
    }
    for (const [from, to] of pairs) {
      if (!listings.has(from) || !listings.has(to)) continue;
      await reader.diff(from, to);
    }
    const filter = createPathFilter({
      include: source.include,
      exclude: source.exclude,
      maxFileBytes: source.maxFileBytes ?? config.sync.maxFileBytes,
    });
    const wanted = new Map<string, FileEntry>(); // blob id → a file holding it
    for (const listing of listings.values())
      for (const entry of listing)
        if (!wanted.has(entry.blobSha) && filter(entry.path, entry.size).ok)
          wanted.set(entry.blobSha, entry);
    const blobs: GitHubState["blobs"] = {};
    // Keyed by sha (one path can hold several versions across the commits).
    const contents = await reader.readBlobs(
      [...wanted.keys()].map((sha) => ({ path: sha, blobSha: sha })),
    );
    for (const sha of wanted.keys()) {
      const content = contents.get(sha) ?? null;
      blobs[sha] = content ? gzipSync(content).toString("base64") : null;
    }
    return {
      commits: commits.filter((c) => listings.has(c)),
      missing,
      github: { repository: source.location, responses, blobs },
      ...(missing.length > 0
        ? { reason: "some commits are gone from the GitHub repository (history rewritten)" }
        : {}),
    };
  } catch (error) {
    return {
      commits: [],
      missing: commits,
      github: null,
      reason: `the GitHub repository could not be read: ${scrub(errorMessage(error)).slice(0, 300)}`,
    };
  }
}

/** The git object id of a blob (SHA-1, or SHA-256 for a 64-digit id). */
export function gitBlobId(content: Buffer, algorithm: "sha1" | "sha256" = "sha1"): string {
  return createHash(algorithm).update(`blob ${content.length}\0`).update(content).digest("hex");
}

function unpack(packed: string): Buffer {
  return gunzipSync(Buffer.from(packed, "base64"), { maxOutputLength: MAX_BLOB_BYTES });
}

/** Checks every recorded blob is the content its id names; throws naming the first that is not. */
export function verifyGitHubState(state: GitHubState): void {
  for (const [sha, packed] of Object.entries(state.blobs)) {
    if (packed === null) continue;
    let content: Buffer;
    try {
      content = unpack(packed);
    } catch {
      throw new Error(`blob ${sha.slice(0, 12)} is not gzip data`);
    }
    if (gitBlobId(content, sha.length === 64 ? "sha256" : "sha1") !== sha)
      throw new Error(`blob ${sha.slice(0, 12)} does not hold the content its id names`);
  }
}

type Recorded = GitHubState["responses"][string];

function reply(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/**
 * The sandbox's GitHub: answers the GitHub reader from recorded state. `setHead` moves a
 * repository's branch to the commit a replayed run saw (as the runner does for git sources).
 */
export class GitHubReplay {
  private readonly responses = new Map<string, Recorded>();
  private readonly blobs = new Map<string, string | null>();
  private readonly heads = new Map<string, { branch: string; commit: string }>();
  /** Requests answered, and those the bundle could not answer. */
  readonly stats = { answered: 0, unanswered: [] as string[] };

  add(state: GitHubState): void {
    for (const [key, value] of Object.entries(state.responses)) this.responses.set(key, value);
    for (const [sha, packed] of Object.entries(state.blobs)) this.blobs.set(sha, packed);
  }

  setHead(repository: string, branch: string, commit: string): void {
    this.heads.set(repository.toLowerCase(), { branch, commit });
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const method = (init?.method ?? "GET").toUpperCase();
    const url = urlOf(input);
    const rel = url.startsWith(REPLAY_GITHUB_API) ? url.slice(REPLAY_GITHUB_API.length) : url;
    const answer = method === "GET" ? this.answer(rel) : undefined;
    if (answer) {
      this.stats.answered++;
      return answer;
    }
    const what = `${method} ${rel.split("?")[0]?.slice(0, 300)}`;
    this.stats.unanswered.push(what);
    return reply(410, { message: `the replay bundle holds no recorded answer to ${what}` });
  };

  private answer(rel: string): Response | undefined {
    const pathname = rel.split("?")[0] ?? "";
    const match = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(pathname);
    if (!match) return undefined;
    const repository = `${decodeURIComponent(match[1] ?? "")}/${decodeURIComponent(match[2] ?? "")}`;
    const rest = match[3] ?? "";
    const head = this.heads.get(repository.toLowerCase());
    if (rest === "" && head)
      return reply(200, {
        name: repository.split("/")[1],
        full_name: repository,
        default_branch: head.branch,
      });
    if (rest.startsWith("/git/ref/") && head) {
      const ref = decodeURIComponent(rest.slice("/git/ref/".length));
      if (ref !== `heads/${head.branch}`) return reply(404, { message: "Not Found" });
      return reply(200, {
        ref: `refs/${ref}`,
        object: { sha: head.commit, type: "commit" },
      });
    }
    if (rest === "/branches" && head)
      return reply(200, [{ name: head.branch, commit: { sha: head.commit } }]);
    const blob = /^\/git\/blobs\/([0-9a-f]+)$/.exec(rest);
    if (blob) {
      const sha = blob[1] as string;
      const packed = this.blobs.get(sha);
      if (packed === undefined) return undefined;
      if (packed === null) return reply(404, { message: "Not Found" });
      const content = unpack(packed);
      return reply(200, {
        sha,
        size: content.length,
        encoding: "base64",
        content: content.toString("base64"),
      });
    }
    const recorded = this.responses.get(rel);
    if (!recorded) return undefined;
    return reply(
      recorded.status,
      recorded.body,
      recorded.next ? { link: `<${REPLAY_GITHUB_API}${pathname}?page=next>; rel="next"` } : {},
    );
  }
}
