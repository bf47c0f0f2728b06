import { BallastError } from "../errors";
import type { UrlPolicy } from "../security/url-policy";

/**
 * Source readers: one interface over a git repository (local path or git URL, read with the
 * git CLI) and a GitHub repository (read over the REST API). Readers only read; the caller
 * (the sync planner) decides what to index.
 */
export type SourceKind = "git" | "github";

export interface SourceLocation {
  kind: SourceKind;
  /** git: an absolute local path or a git URL; github: "owner/repo". */
  location: string;
  /** Undefined → the repository's default branch (HEAD). */
  branch?: string;
}

/**
 * A regular file at a commit (modes 100644/100755). Symbolic links (120000) and submodules
 * (160000, gitlinks) are never listed: their "content" is a target path or a commit id.
 */
export interface FileEntry {
  path: string;
  blobSha: string;
  size: number;
}

/**
 * One change between two commits, regular files only. A file that turned into a symlink or
 * submodule is reported as `removed`; the reverse as `added`. `removed` may name a path that
 * was not a regular file on the GitHub compare path (the API does not say); removing
 * something not indexed is harmless.
 */
export type Change =
  | { type: "added" | "modified"; path: string; blobSha: string; size: number }
  | { type: "removed"; path: string }
  | { type: "renamed"; oldPath: string; path: string; blobSha: string; size: number };

export type Head =
  | { state: "ok"; commit: string; branch: string }
  /** The repository has no branches at all (nothing was ever pushed). */
  | { state: "empty" }
  /** The repository has branches, but not this one (deleted, or never created). */
  | { state: "branch-missing"; branch: string };

export interface SourceReader {
  readonly kind: SourceKind;
  /** The branch tip. For a git URL it fetches first; for GitHub it asks the API. */
  resolveHead(): Promise<Head>;
  /** Every regular file at a commit. Unknown commit → NotFoundError. */
  listFiles(commit: string): Promise<FileEntry[]>;
  /**
   * The tree difference from → to (not the commits in between), with renames. Correct
   * across force-pushes as long as `fromCommit` still exists; when it does not, throws
   * CursorMissingError and the caller falls back to a full listing.
   */
  diff(fromCommit: string, toCommit: string): Promise<Change[]>;
  /** Contents by path; null when the blob no longer exists. Duplicated blob shas are read once. */
  readBlobs(entries: { path: string; blobSha: string }[]): Promise<Map<string, Buffer | null>>;
}

export type GitHubAuth = {
  token?: string;
  appId?: string;
  privateKey?: string;
  /** With appId + privateKey; looked up from the repository when absent. */
  installationId?: number;
};

export interface GitHubReaderOptions extends GitHubAuth {
  /** REST API base URL, e.g. https://api.github.com (tests point it to a loopback server). */
  apiUrl: string;
  /** Concurrent blob or subtree requests (default 8). */
  concurrency?: number;
  /** Rate limits: how many times one request may wait and retry (default 3). */
  maxRateLimitRetries?: number;
  /** Rate limits: the longest single wait, in seconds, before giving up with a retryable error (default 120). */
  maxRateLimitWaitSeconds?: number;
  /**
   * Milliseconds per "second" of waiting (default 1000), for both rate-limit waits and
   * 5xx backoff (1, 4, 9 units). Tests shrink it; nothing else should.
   */
  retryTimeUnitMs?: number;
  /** Retries of a 5xx or network failure before giving up (default 3). */
  serverErrorRetries?: number;
}

export interface SourceLogger {
  warn(obj: object, msg: string): void;
}

export interface CreateSourceReaderOptions {
  /** Where bare mirrors of git URLs are kept (one per URL, reused across runs). */
  workDir: string;
  github?: GitHubReaderOptions;
  fetch?: typeof fetch;
  log?: SourceLogger;
  /** Longest a single git network operation (clone, fetch, ls-remote) may take; default 10 minutes. */
  gitNetworkTimeoutMs?: number;
  /** Where git remotes may be fetched from (checked before every fetch). Default: https to public addresses. */
  urlPolicy?: UrlPolicy;
}

/**
 * The stored cursor commit no longer exists in the source (history rewritten and collected,
 * or a sha the source never had). Not retryable: the caller falls back to a full sync.
 */
export class CursorMissingError extends BallastError {
  constructor(
    readonly commit: string,
    message = `commit ${commit} no longer exists in the source; a full sync is needed`,
  ) {
    super("cursor_missing", message, 409, false);
  }
}

/** 40 hex digits (SHA-1) or 64 (SHA-256 object format). */
export const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
