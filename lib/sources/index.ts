import { ValidationError } from "../errors";
import { tracedFetch } from "../traces/tracer";
import { GitSourceReader } from "./git";
import { GitHubSourceReader } from "./github";
import type { CreateSourceReaderOptions, SourceLocation, SourceReader } from "./types";

export { GitSourceReader, isGitUrl } from "./git";
export { COMPARE_FILE_CAP, diffListings, GitHubSourceReader, parseOwnerRepo } from "./github";
export { parseSourceArgument } from "./parse";
export * from "./types";

/**
 * A reader for a source. git: a local repository read in place, or a git URL mirrored under
 * `workDir`. github: the REST API at `options.github.apiUrl` (required for github sources).
 */
export function createSourceReader(
  source: SourceLocation,
  options: CreateSourceReaderOptions,
): SourceReader {
  switch (source.kind) {
    case "git":
      return new GitSourceReader(source, {
        workDir: options.workDir,
        log: options.log,
        networkTimeoutMs: options.gitNetworkTimeoutMs,
        urlPolicy: options.urlPolicy,
      });
    case "github":
      if (!options.github) {
        throw new ValidationError(
          "a github source needs GitHub settings (apiUrl and a token or App)",
        );
      }
      return new GitHubSourceReader(source, {
        github: options.github,
        // Every GitHub API request is a span of the step that made it.
        fetch: tracedFetch(
          "github.request",
          options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
        ),
        log: options.log,
      });
    default:
      throw new ValidationError(
        `unknown source kind ${JSON.stringify((source as { kind: unknown }).kind)}`,
      );
  }
}
