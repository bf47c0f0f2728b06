import { createAppAuth } from "@octokit/auth-app";
import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
import { Octokit } from "@octokit/rest";
import {
  BallastError,
  errorMessage,
  NotFoundError,
  ProviderError,
  UnavailableError,
  ValidationError,
} from "../errors";
import { normalizeObjectId } from "./git";
import {
  type Change,
  CursorMissingError,
  type FileEntry,
  type GitHubReaderOptions,
  type Head,
  type SourceLocation,
  type SourceLogger,
  type SourceReader,
} from "./types";

/**
 * GitHub sources read over the REST API with Octokit.
 *
 * - Rate limits (plugin-throttling): a primary limit (403/429 with x-ratelimit-remaining: 0,
 *   wait until x-ratelimit-reset) or a secondary one (403/429 "secondary rate limit", wait
 *   retry-after) waits and retries, at most `maxRateLimitRetries` times and only when the wait
 *   is at most `maxRateLimitWaitSeconds`; each hit is reported through log.warn. Past that,
 *   a retryable ProviderError (httpStatus 429, retryAfterMs set) goes to the caller.
 * - 5xx and network failures (plugin-retry): retried with backoff, then a retryable
 *   ProviderError / UnavailableError.
 * - 401, 403 (not a rate limit), 404, 422: never retried. A missing repository is a
 *   NotFoundError; bad credentials a non-retryable ProviderError (httpStatus 401).
 * - Tokens never appear in messages or logs (Octokit redacts them from its errors, and this
 *   module logs only method, route template and timings).
 */

const ReaderOctokit = Octokit.plugin(throttling, retry);
type ReaderOctokit = InstanceType<typeof ReaderOctokit>;

/** The compare API lists at most this many files; a list this long may be cut short. */
export const COMPARE_FILE_CAP = 300;
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const REPO = /^[A-Za-z0-9._-]{1,100}$/;

export function parseOwnerRepo(location: string): { owner: string; repo: string } {
  const [owner, repo, ...rest] = String(location).split("/");
  if (
    rest.length > 0 ||
    !owner ||
    !repo ||
    !OWNER.test(owner) ||
    !REPO.test(repo) ||
    repo === "." ||
    repo === ".."
  ) {
    throw new ValidationError(
      `GitHub source location must be "owner/repo", got ${JSON.stringify(location)}`,
    );
  }
  return { owner, repo };
}

interface HttpErrorLike {
  status: number;
  message: string;
  response?: { headers: Record<string, string | number | undefined> };
}

function asHttpError(error: unknown): HttpErrorLike | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const status = (error as { status?: unknown }).status;
  return typeof status === "number" ? (error as HttpErrorLike) : undefined;
}

function statusOf(error: unknown): number | undefined {
  return asHttpError(error)?.status;
}

function retryAfterMs(headers: Record<string, string | number | undefined>): number | undefined {
  const retryAfter = Number(headers["retry-after"]);
  if (Number.isFinite(retryAfter) && retryAfter >= 0) return retryAfter * 1000;
  const reset = Number(headers["x-ratelimit-reset"]);
  if (Number.isFinite(reset) && reset > 0) return Math.max(0, reset * 1000 - Date.now());
  return undefined;
}

/** Maps an Octokit failure to a Ballast error; `what` says what was being done. */
export function toSourceError(error: unknown, what: string): Error {
  if (error instanceof BallastError) return error;
  const http = asHttpError(error);
  if (!http) {
    return new UnavailableError(
      `GitHub API unreachable while ${what}: ${errorMessage(error)}`,
      "github_unreachable",
    );
  }
  const { status } = http;
  const headers = http.response?.headers;
  if (!headers) {
    // Octokit reports a failed fetch (DNS, refused, reset) as status 500 without a response.
    return new UnavailableError(
      `GitHub API unreachable while ${what}: ${http.message}`,
      "github_unreachable",
    );
  }
  const message = http.message;
  const rateLimited =
    status === 429 ||
    (status === 403 && (headers["x-ratelimit-remaining"] === "0" || /rate limit/i.test(message)));
  if (rateLimited) {
    return new ProviderError(
      "github",
      429,
      `GitHub rate limit exceeded (HTTP ${status}) while ${what}: ${message}`,
      retryAfterMs(headers),
    );
  }
  if (status === 404) return new NotFoundError(`GitHub: not found while ${what}`);
  if (status === 401) {
    return new ProviderError(
      "github",
      401,
      `GitHub rejected the credentials (HTTP 401) while ${what}: ${message}`,
    );
  }
  if (status === 403) {
    return new ProviderError(
      "github",
      403,
      `GitHub denied access (HTTP 403) while ${what}: ${message}`,
    );
  }
  return new ProviderError(
    "github",
    status,
    `GitHub answered HTTP ${status} while ${what}: ${message}`,
  );
}

/** Runs `fn` over items with at most `limit` in flight, keeping order. */
async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

interface TreeItem {
  path?: string;
  mode?: string;
  type?: string;
  sha?: string;
  size?: number;
}

function toFileEntry(prefix: string, item: TreeItem): FileEntry | undefined {
  if (item.type !== "blob" || !item.mode?.startsWith("100") || !item.path || !item.sha)
    return undefined;
  return { path: prefix + item.path, blobSha: item.sha, size: item.size ?? 0 };
}

export interface GitHubSourceReaderOptions {
  github: GitHubReaderOptions;
  fetch?: typeof fetch;
  log?: SourceLogger;
}

export class GitHubSourceReader implements SourceReader {
  readonly kind = "github" as const;
  readonly owner: string;
  readonly repo: string;
  private clientPromise: Promise<ReaderOctokit> | undefined;
  private readonly concurrency: number;

  constructor(
    private readonly source: SourceLocation,
    private readonly options: GitHubSourceReaderOptions,
  ) {
    if (source.kind !== "github") throw new ValidationError(`not a GitHub source: ${source.kind}`);
    ({ owner: this.owner, repo: this.repo } = parseOwnerRepo(source.location));
    const { token, appId, privateKey } = options.github;
    if (!token && (appId || privateKey) && !(appId && privateKey)) {
      throw new ValidationError("GitHub App authentication needs both appId and privateKey");
    }
    this.concurrency = Math.max(1, Math.floor(options.github.concurrency ?? 8));
  }

  private get name(): string {
    return `${this.owner}/${this.repo}`;
  }

  // ---------------------------------------------------------------- client

  private newOctokit(auth: Record<string, unknown>): ReaderOctokit {
    const gh = this.options.github;
    const log = this.options.log;
    const unit = gh.retryTimeUnitMs ?? 1000;
    const maxRetries = gh.maxRateLimitRetries ?? 3;
    const maxWait = gh.maxRateLimitWaitSeconds ?? 120;
    const onLimit =
      (limit: "primary" | "secondary") =>
      (
        retryAfter: number,
        request: { method?: string; url?: string },
        _octokit: unknown,
        retryCount: number,
      ) => {
        const retrying = retryCount < maxRetries && retryAfter <= maxWait;
        log?.warn(
          {
            provider: "github",
            limit,
            method: request.method,
            route: request.url,
            retryAfterSeconds: retryAfter,
            retryCount,
            retrying,
          },
          retrying
            ? `GitHub ${limit} rate limit hit; retrying in ${retryAfter}s`
            : `GitHub ${limit} rate limit hit; not waiting ${retryAfter}s (attempt ${retryCount + 1})`,
        );
        return retrying;
      };
    // Octokit's own warnings (deprecations) go to the log; its per-request error lines (the
    // request-log plugin) do not: every failure reaches the caller as a thrown error instead.
    const forward = (message: string) => log?.warn({ provider: "github" }, message);
    const ignore = () => {};
    return new ReaderOctokit({
      ...auth,
      baseUrl: gh.apiUrl.replace(/\/+$/, ""),
      userAgent: "ballast",
      request: this.options.fetch ? { fetch: this.options.fetch } : {},
      log: { debug: ignore, info: ignore, warn: forward, error: ignore },
      throttle: {
        onRateLimit: onLimit("primary"),
        onSecondaryRateLimit: onLimit("secondary"),
        retryAfterBaseValue: unit,
      },
      retry: {
        retries: gh.serverErrorRetries ?? 3,
        retryAfterBaseValue: unit,
        // Rate limits (403/429) belong to the throttling plugin, which honours the headers.
        doNotRetry: [400, 401, 403, 404, 409, 410, 422, 429, 451],
      },
    });
  }

  private client(): Promise<ReaderOctokit> {
    if (!this.clientPromise) {
      const promise = this.createClient();
      this.clientPromise = promise;
      promise.catch(() => {
        if (this.clientPromise === promise) this.clientPromise = undefined;
      });
    }
    return this.clientPromise;
  }

  private async createClient(): Promise<ReaderOctokit> {
    const { token, appId, privateKey, installationId } = this.options.github;
    if (token) return this.newOctokit({ auth: token });
    if (!appId || !privateKey) return this.newOctokit({}); // anonymous: public repositories only
    let installation = installationId;
    if (installation === undefined) {
      const app = this.newOctokit({ authStrategy: createAppAuth, auth: { appId, privateKey } });
      try {
        const { data } = await app.rest.apps.getRepoInstallation({
          owner: this.owner,
          repo: this.repo,
        });
        installation = data.id;
      } catch (error) {
        if (statusOf(error) === 404) {
          throw new NotFoundError(`the GitHub App ${appId} is not installed on ${this.name}`);
        }
        throw toSourceError(error, `finding the GitHub App installation for ${this.name}`);
      }
    }
    const octokit = this.newOctokit({
      authStrategy: createAppAuth,
      auth: { appId, privateKey, installationId: installation },
    });
    // Get the installation token now (auth-app caches it), so a wrong installation or key is
    // reported as such rather than as a missing repository.
    try {
      await octokit.auth({ type: "installation" });
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) {
        throw new NotFoundError(`GitHub App ${appId} has no installation ${installation}`);
      }
      if (status === 401) {
        throw new ProviderError(
          "github",
          401,
          `GitHub rejected the App's credentials (HTTP 401) for app ${appId}: check the App id and private key`,
        );
      }
      throw toSourceError(error, `creating an installation token for app ${appId}`);
    }
    return octokit;
  }

  // ---------------------------------------------------------------- SourceReader

  async resolveHead(): Promise<Head> {
    const octokit = await this.client();
    let defaultBranch: string;
    try {
      defaultBranch = (await octokit.rest.repos.get({ owner: this.owner, repo: this.repo })).data
        .default_branch;
    } catch (error) {
      if (statusOf(error) === 404) {
        throw new NotFoundError(
          `GitHub repository ${this.name} not found, or not visible with these credentials`,
        );
      }
      throw toSourceError(error, `reading repository ${this.name}`);
    }
    const branch = this.source.branch ?? defaultBranch;
    try {
      const { data } = await octokit.rest.git.getRef({
        owner: this.owner,
        repo: this.repo,
        ref: `heads/${branch}`,
      });
      return { state: "ok", commit: data.object.sha, branch };
    } catch (error) {
      const status = statusOf(error);
      if (status === 409) return { state: "empty" }; // "Git Repository is empty."
      if (status !== 404) throw toSourceError(error, `reading branch ${branch} of ${this.name}`);
    }
    try {
      const { data } = await octokit.rest.repos.listBranches({
        owner: this.owner,
        repo: this.repo,
        per_page: 1,
      });
      return data.length === 0 ? { state: "empty" } : { state: "branch-missing", branch };
    } catch (error) {
      if (statusOf(error) === 409) return { state: "empty" };
      throw toSourceError(error, `listing branches of ${this.name}`);
    }
  }

  private async getTree(octokit: ReaderOctokit, sha: string, recursive: boolean) {
    const { data } = await octokit.rest.git.getTree({
      owner: this.owner,
      repo: this.repo,
      tree_sha: sha,
      ...(recursive ? { recursive: "1" } : {}),
    });
    return data as { tree: TreeItem[]; truncated: boolean };
  }

  async listFiles(commit: string): Promise<FileEntry[]> {
    const id = normalizeObjectId(commit, "commit");
    const octokit = await this.client();
    let root: { tree: TreeItem[]; truncated: boolean };
    try {
      root = await this.getTree(octokit, id, true);
    } catch (error) {
      const status = statusOf(error);
      if (status === 404 || status === 409 || status === 422) {
        throw new NotFoundError(`commit ${id} not found in GitHub repository ${this.name}`);
      }
      throw toSourceError(error, `listing files of ${this.name} at ${id}`);
    }
    const files: FileEntry[] = [];
    if (!root.truncated) {
      for (const item of root.tree) {
        const entry = toFileEntry("", item);
        if (entry) files.push(entry);
      }
      return files;
    }
    // Too big for one recursive listing: walk the tree, one directory level at a time
    // where a subtree is itself too big.
    try {
      await this.walkTree(octokit, id, files);
    } catch (error) {
      throw toSourceError(error, `listing files of ${this.name} at ${id}`);
    }
    return files;
  }

  private walkTree(octokit: ReaderOctokit, rootSha: string, files: FileEntry[]): Promise<void> {
    const queue: { prefix: string; sha: string; recursive: boolean }[] = [
      { prefix: "", sha: rootSha, recursive: false },
    ];
    let active = 0;
    let failed = false;
    const visit = async (item: { prefix: string; sha: string; recursive: boolean }) => {
      const data = await this.getTree(octokit, item.sha, item.recursive);
      if (item.recursive && data.truncated) {
        queue.push({ ...item, recursive: false });
        return;
      }
      for (const child of data.tree) {
        const entry = toFileEntry(item.prefix, child);
        if (entry) files.push(entry);
        else if (!item.recursive && child.type === "tree" && child.sha && child.path) {
          queue.push({ prefix: `${item.prefix}${child.path}/`, sha: child.sha, recursive: true });
        }
      }
    };
    return new Promise((resolve, reject) => {
      const pump = () => {
        if (failed) return;
        if (queue.length === 0 && active === 0) return resolve();
        while (active < this.concurrency && queue.length > 0) {
          const item = queue.shift() as (typeof queue)[number];
          active += 1;
          visit(item).then(
            () => {
              active -= 1;
              pump();
            },
            (error) => {
              failed = true;
              reject(error);
            },
          );
        }
      };
      pump();
    });
  }

  async diff(fromCommit: string, toCommit: string): Promise<Change[]> {
    const from = normalizeObjectId(fromCommit, "fromCommit");
    const to = normalizeObjectId(toCommit, "toCommit");
    if (from === to) return [];
    const octokit = await this.client();
    const compared = await this.compareFiles(octokit, from, to);
    if (!compared) return this.treeDiff(from, to);
    if (compared.length === 0) return [];
    const head = new Map((await this.listFiles(to)).map((f) => [f.path, f]));
    const changes: Change[] = [];
    for (const file of compared) {
      const now = head.get(file.filename);
      switch (file.status) {
        case "removed":
          changes.push({ type: "removed", path: file.filename });
          break;
        case "renamed":
          if (now && file.previous_filename) {
            changes.push({ type: "renamed", oldPath: file.previous_filename, ...now });
          } else {
            if (file.previous_filename)
              changes.push({ type: "removed", path: file.previous_filename });
            if (now) changes.push({ type: "added", ...now });
          }
          break;
        case "added":
        case "copied":
          if (now) changes.push({ type: "added", ...now });
          break;
        case "unchanged":
          break;
        default: // modified, changed (type change)
          if (now) changes.push({ type: "modified", ...now });
          else changes.push({ type: "removed", path: file.filename });
      }
    }
    return changes;
  }

  /**
   * The compare API's file list, or undefined when it cannot be trusted as the tree diff
   * from → to: `from` unknown to it (404/422), `to` not a descendant of `from` (base...head
   * diffs from the merge base, which after a force-push is not `from`), or a list that may
   * have been cut at the API's cap.
   */
  private async compareFiles(
    octokit: ReaderOctokit,
    from: string,
    to: string,
  ): Promise<{ filename: string; status: string; previous_filename?: string }[] | undefined> {
    const files = new Map<
      string,
      { filename: string; status: string; previous_filename?: string }
    >();
    for (let page = 1; ; page += 1) {
      let response: Awaited<ReturnType<typeof octokit.rest.repos.compareCommitsWithBasehead>>;
      try {
        response = await octokit.rest.repos.compareCommitsWithBasehead({
          owner: this.owner,
          repo: this.repo,
          basehead: `${from}...${to}`,
          per_page: 100,
          page,
        });
      } catch (error) {
        const status = statusOf(error);
        // 404/422: GitHub does not know `from` (or no common history). 5xx after retries: a
        // comparison too large to generate in time. Both: the tree diff still answers.
        if (status === 404 || status === 422) return undefined;
        if (status !== undefined && status >= 500 && asHttpError(error)?.response) {
          this.options.log?.warn(
            { provider: "github", status, repository: this.name },
            "GitHub compare failed; falling back to a tree diff",
          );
          return undefined;
        }
        throw toSourceError(error, `comparing ${from}...${to} in ${this.name}`);
      }
      const { data } = response;
      if (data.status !== "ahead" && data.status !== "identical") return undefined;
      if (page === 1 && data.files === undefined) return undefined;
      let added = 0;
      for (const file of data.files ?? []) {
        if (!files.has(file.filename)) added += 1;
        files.set(file.filename, file);
      }
      // Files come on the first page (and, in some API versions, spread over the pages):
      // stop at the last page or at a page that brings no new file.
      if (added === 0 || !/\brel="next"/.test(response.headers.link ?? "")) break;
    }
    if (files.size >= COMPARE_FILE_CAP) return undefined;
    return [...files.values()];
  }

  /** Diff of two full listings by blob sha; exact-content renames are paired up. */
  private async treeDiff(from: string, to: string): Promise<Change[]> {
    const [before, after] = await Promise.allSettled([this.listFiles(from), this.listFiles(to)]);
    if (after.status === "rejected") throw after.reason;
    if (before.status === "rejected") {
      if (before.reason instanceof NotFoundError) throw new CursorMissingError(from);
      throw before.reason;
    }
    return diffListings(before.value, after.value);
  }

  async readBlobs(
    entries: { path: string; blobSha: string }[],
  ): Promise<Map<string, Buffer | null>> {
    const shas = entries.map((e) => normalizeObjectId(e.blobSha, `blobSha of ${e.path}`));
    const result = new Map<string, Buffer | null>();
    if (entries.length === 0) return result;
    const octokit = await this.client();
    const unique = [...new Set(shas)];
    const contents = await mapLimit(unique, this.concurrency, async (sha) => {
      try {
        const { data } = await octokit.rest.git.getBlob({
          owner: this.owner,
          repo: this.repo,
          file_sha: sha,
        });
        return Buffer.from(data.content, data.encoding === "base64" ? "base64" : "utf8");
      } catch (error) {
        if (statusOf(error) === 404) return null;
        throw toSourceError(error, `reading blob ${sha} of ${this.name}`);
      }
    });
    const bySha = new Map(unique.map((sha, i) => [sha, contents[i] ?? null]));
    entries.forEach((entry, i) => {
      result.set(entry.path, bySha.get(shas[i] as string) ?? null);
    });
    return result;
  }
}

/** Changes between two listings: by path, with removed+added pairs of one blob sha as renames. */
export function diffListings(before: FileEntry[], after: FileEntry[]): Change[] {
  const old = new Map(before.map((f) => [f.path, f]));
  const now = new Map(after.map((f) => [f.path, f]));
  const changes: Change[] = [];
  const added: FileEntry[] = [];
  const removedBySha = new Map<string, string[]>();
  for (const file of after) {
    const prior = old.get(file.path);
    if (!prior) added.push(file);
    else if (prior.blobSha !== file.blobSha) changes.push({ type: "modified", ...file });
  }
  for (const file of before) {
    if (now.has(file.path)) continue;
    const list = removedBySha.get(file.blobSha) ?? [];
    list.push(file.path);
    removedBySha.set(file.blobSha, list);
  }
  for (const file of added) {
    const candidates = removedBySha.get(file.blobSha);
    const oldPath = candidates?.shift();
    if (oldPath) changes.push({ type: "renamed", oldPath, ...file });
    else changes.push({ type: "added", ...file });
  }
  for (const paths of removedBySha.values()) {
    for (const path of paths) changes.push({ type: "removed", path });
  }
  return changes;
}
