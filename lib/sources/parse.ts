import path from "node:path";
import { ValidationError } from "../errors";
import { redactLocation } from "../security/redact";
import { parseOwnerRepo } from "./github";
import type { SourceLocation } from "./types";

const GIT_URL_SCHEMES = new Set([
  "https:",
  "http:",
  "ssh:",
  "git:",
  "file:",
  "git+ssh:",
  "ssh+git:",
]);
const GITHUB_HOSTS = new Set(["github.com", "www.github.com"]);
const SCP_LIKE = /^([^/@:\s]+)@([^/:\s]+):(.+)$/;

function invalid(arg: string, reason: string): ValidationError {
  // Redacted: a refused URL may be refused precisely because it carries a credential.
  return new ValidationError(`invalid source ${JSON.stringify(redactLocation(arg))}: ${reason}`, [
    { path: "source", message: reason },
  ]);
}

function github(arg: string, ownerRepo: string): SourceLocation {
  try {
    const { owner, repo } = parseOwnerRepo(ownerRepo);
    return { kind: "github", location: `${owner}/${repo}` };
  } catch {
    throw invalid(arg, "expected a GitHub repository as owner/repo");
  }
}

/**
 * Reads a source as a user types it (CLI, admin form):
 * - `./dir`, `../dir`, `.`, `/abs/dir` → a local git repository (made absolute);
 * - `github:owner/repo`, `https://github.com/owner/repo(.git)` → GitHub;
 * - any other git URL (`file://`, `ssh://`, `git://`, `http(s)://` elsewhere, `user@host:path`)
 *   → git, read through a local mirror.
 * A bare `owner/repo` or `name` is refused as ambiguous.
 */
export function parseSourceArgument(arg: string): SourceLocation {
  if (typeof arg !== "string") throw invalid(String(arg), "expected a string");
  const value = arg.trim();
  if (value === "") throw invalid(arg, "empty");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(value)) throw invalid(arg, "contains control characters");
  if (value.startsWith("-")) throw invalid(arg, "must not start with '-'");

  if (/^github:/i.test(value)) {
    return github(
      arg,
      value
        .slice("github:".length)
        .replace(/\.git$/, "")
        .replace(/\/$/, ""),
    );
  }

  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw invalid(arg, "not a valid URL");
    }
    if (!GIT_URL_SCHEMES.has(url.protocol)) {
      throw invalid(
        arg,
        `unsupported URL scheme ${url.protocol.slice(0, -1)} (use https, ssh, git or file)`,
      );
    }
    if ((url.protocol === "https:" || url.protocol === "http:") && GITHUB_HOSTS.has(url.hostname)) {
      if (url.username || url.password) {
        throw invalid(
          arg,
          "credentials do not belong in a GitHub URL; configure a GitHub token or App instead",
        );
      }
      if (url.search || url.hash) throw invalid(arg, "expected https://github.com/owner/repo");
      const parts = url.pathname
        .replace(/^\/+|\/+$/g, "")
        .replace(/\.git$/, "")
        .split("/");
      if (parts.length !== 2) throw invalid(arg, "expected https://github.com/owner/repo");
      return github(arg, parts.join("/"));
    }
    if (url.protocol === "file:" && (url.pathname === "" || url.pathname === "/")) {
      throw invalid(arg, "a file:// URL needs a path");
    }
    if (url.protocol === "file:" && url.hostname !== "" && url.hostname !== "localhost")
      throw invalid(arg, "a file:// URL must name a local path (file:///path)");
    if (url.protocol !== "file:" && !url.hostname) throw invalid(arg, "the URL has no host");
    // Credentials would be stored in plain text and shown to every viewer: refuse them. An ssh
    // user name (ssh://git@host/…) is not a secret; anything in an http(s) or git URL may be
    // (https://<token>@host is a common way to pass a token).
    const sshLike =
      url.protocol === "ssh:" || url.protocol === "git+ssh:" || url.protocol === "ssh+git:";
    if (url.password || (url.username && !sshLike))
      throw invalid(
        arg,
        "credentials do not belong in a source URL (they would be stored and shown in plain text); use a URL without them and give git its credentials another way (a credential helper, an ssh key, or GITHUB_TOKEN / a GitHub App for GitHub)",
      );
    if (url.search || url.hash) throw invalid(arg, "a git URL takes no query string or fragment");
    return { kind: "git", location: value };
  }

  if (SCP_LIKE.test(value)) return { kind: "git", location: value };

  if (
    value === "." ||
    value === ".." ||
    value.startsWith("./") ||
    value.startsWith("../") ||
    path.isAbsolute(value)
  ) {
    return { kind: "git", location: path.resolve(value) };
  }

  throw invalid(
    arg,
    /^[^/\s]+\/[^/\s]+$/.test(value)
      ? `ambiguous: use github:${value} for GitHub or ./${value} for a local path`
      : "expected a local path (./dir or /abs/dir), a git URL, or github:owner/repo",
  );
}
