import { realpath } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Config } from "../config";
import { ValidationError } from "../errors";
import type { SourceLocation } from "../sources/types";
import {
  checkOutboundUrl,
  OutboundUrlError,
  type Resolver,
  systemResolver,
  type UrlPolicy,
} from "./url-policy";

/**
 * What a source added over HTTP may point at. The admin API is reachable by anyone holding an
 * admin key, and whatever it adds is synced by the server and served to every viewer, so:
 * - a local path or file:// URL must lie under one of SOURCE_LOCAL_ROOTS (none by default),
 *   judged after resolving symbolic links and "..";
 * - a git URL must pass the outbound URL policy (public addresses, https in production).
 * The CLI runs as the operator's own user and may add any local path.
 */
export interface SourceAccessPolicy {
  localRoots: readonly string[];
  outbound: UrlPolicy;
}

/** The outbound policy for user-supplied URLs, from the configuration. */
export function urlPolicyFor(config: Pick<Config, "security">): UrlPolicy {
  return {
    schemes: config.security.outboundHttpsOnly ? ["https"] : ["https", "http", "ssh", "git"],
    allowHosts: config.security.outboundAllowHosts,
    allowPrivate: config.security.outboundAllowPrivate,
  };
}

export function sourceAccessPolicyFor(config: Pick<Config, "security">): SourceAccessPolicy {
  return { localRoots: config.security.sourceLocalRoots, outbound: urlPolicyFor(config) };
}

function refused(message: string): ValidationError {
  return new ValidationError(message, [{ path: "location", message }]);
}

function isInside(child: string, root: string): boolean {
  const relative = path.relative(root, child);
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}

/**
 * Refuses (422) a local path outside the allowed roots. The lexical check comes first, so a
 * path outside every root is refused without touching the filesystem (no existence oracle);
 * then the real path (symbolic links resolved) must still lie inside a root's real path.
 */
export async function checkLocalPath(dir: string, roots: readonly string[]): Promise<void> {
  const how =
    "local paths and file:// URLs can be added over HTTP only under SOURCE_LOCAL_ROOTS; add them with the CLI (`ballast sources add <path>`) instead";
  if (roots.length === 0) throw refused(`${how} (no SOURCE_LOCAL_ROOTS are configured)`);
  const lexical = path.resolve(dir);
  const lexicalRoots = roots.filter((root) => isInside(lexical, path.resolve(root)));
  if (lexicalRoots.length === 0) throw refused(`this path is outside SOURCE_LOCAL_ROOTS; ${how}`);
  let real: string;
  try {
    real = await realpath(lexical);
  } catch {
    throw refused("this path does not exist under SOURCE_LOCAL_ROOTS");
  }
  for (const root of lexicalRoots) {
    const realRoot = await realpath(root).catch(() => undefined);
    if (realRoot && isInside(real, realRoot)) return;
  }
  throw refused(`this path leads outside SOURCE_LOCAL_ROOTS (through a symbolic link); ${how}`);
}

/** Throws ValidationError (422) when a source added over HTTP may not be read. */
export async function checkSourceAccess(
  source: SourceLocation,
  policy: SourceAccessPolicy,
  resolve: Resolver = systemResolver,
): Promise<void> {
  if (source.kind !== "git") return; // GitHub sources go to the configured GitHub API only
  const location = source.location;
  if (/^file:/i.test(location)) {
    let dir: string;
    try {
      dir = fileURLToPath(location);
    } catch {
      throw refused("a file:// URL must name a local path");
    }
    return checkLocalPath(dir, policy.localRoots);
  }
  if (path.isAbsolute(location)) return checkLocalPath(location, policy.localRoots);
  try {
    await checkOutboundUrl(location, policy.outbound, resolve);
  } catch (error) {
    if (error instanceof OutboundUrlError) throw refused(error.message);
    throw error;
  }
}
