import { ValidationError } from "../errors";
import { type PipelineDeps, readerForLocation } from "../pipeline/deps";
import { parseNewSource, type SourceInput } from "../pipeline/source-records";
import { checkSourceAccess, type SourceAccessPolicy } from "../security/source-access";
import { createPathFilter, type SkipReason } from "../sources/filter";

/** Paths shown per list in a preview; the counts cover every file. */
export const PREVIEW_LIST_LIMIT = 200;

export interface FilterPreview {
  commit: string | null;
  branch: string | null;
  total: number;
  matched: number;
  /** The first PREVIEW_LIST_LIMIT matching paths, sorted. */
  matchedPaths: string[];
  skippedByReason: Partial<Record<SkipReason, number>>;
  /** A few skipped paths with the reason, to explain the counts. */
  skippedSample: { path: string; reason: SkipReason }[];
  empty?: "repository-empty" | "branch-missing";
}

/**
 * What a new source's include/exclude globs (and size limit) would index: the repository's
 * files at the branch tip, listed through the same source reader a sync uses, passed through
 * the same path filter (lib/sources/filter.ts). The location is normalised and access-checked
 * exactly as adding it would be; nothing is stored.
 */
export async function previewSourceFilter(
  deps: PipelineDeps,
  policy: SourceAccessPolicy,
  input: SourceInput,
): Promise<FilterPreview> {
  const source = parseNewSource(input);
  await checkSourceAccess(source, policy);
  const filter = createPathFilter({
    include: source.include ?? [],
    exclude: source.exclude ?? [],
    maxFileBytes: source.maxFileBytes ?? deps.maxFileBytes,
  });
  const reader = readerForLocation(deps, source);
  const head = await reader.resolveHead();
  const base = {
    total: 0,
    matched: 0,
    matchedPaths: [],
    skippedByReason: {},
    skippedSample: [],
  };
  if (head.state === "empty")
    return { ...base, commit: null, branch: null, empty: "repository-empty" };
  if (head.state === "branch-missing") {
    throw new ValidationError(`the repository has no branch "${head.branch}"`, [
      { path: "branch", message: `no branch ${head.branch}` },
    ]);
  }
  const files = await reader.listFiles(head.commit);
  const preview: FilterPreview = {
    ...base,
    commit: head.commit,
    branch: head.branch,
    total: files.length,
  };
  const matched: string[] = [];
  for (const file of files) {
    const verdict = filter(file.path, file.size);
    if (verdict.ok) {
      preview.matched++;
      matched.push(file.path);
      continue;
    }
    preview.skippedByReason[verdict.reason] = (preview.skippedByReason[verdict.reason] ?? 0) + 1;
    if (preview.skippedSample.length < 20)
      preview.skippedSample.push({ path: file.path, reason: verdict.reason });
  }
  preview.matchedPaths = matched.sort().slice(0, PREVIEW_LIST_LIMIT);
  return preview;
}
