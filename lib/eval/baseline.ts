/**
 * The BM25 baseline of `ballast eval`: MiniSearch (BM25 over its default tokeniser) over
 * LangChain `RecursiveCharacterTextSplitter` chunks of the same files Ballast indexed, with
 * the path's words as a second field. It is what a team would put together from well-known
 * libraries in an afternoon, so hybrid search must beat it to be worth having.
 *
 * Both libraries are loaded on first use: the search path never needs them, and
 * `@langchain/textsplitters` is a development dependency (an install without it reports the
 * baseline as unavailable instead of failing the eval).
 */
export interface BaselineIndex {
  chunks: number;
  search(query: string, limit: number): string[];
}

export class BaselineUnavailableError extends Error {}

export async function buildBm25Baseline(
  files: { path: string; text: string }[],
  chunking: { size: number; overlap: number },
): Promise<BaselineIndex> {
  let splitters: typeof import("@langchain/textsplitters");
  let minisearch: typeof import("minisearch");
  try {
    [splitters, minisearch] = await Promise.all([
      import("@langchain/textsplitters"),
      import("minisearch"),
    ]);
  } catch (error) {
    throw new BaselineUnavailableError(
      `the BM25 baseline needs minisearch and @langchain/textsplitters (development dependencies): ${(error as Error).message}`,
    );
  }
  const splitter = new splitters.RecursiveCharacterTextSplitter({
    chunkSize: chunking.size,
    chunkOverlap: chunking.overlap,
  });
  const MiniSearch = minisearch.default;
  const index = new MiniSearch<{ id: number; path: string; text: string; pathWords: string }>({
    fields: ["text", "pathWords"],
    storeFields: ["path"],
  });
  let id = 0;
  for (const file of files) {
    const pathWords = file.path.replace(/[^\p{L}\p{N}]+/gu, " ");
    for (const text of await splitter.splitText(file.text))
      index.add({ id: id++, path: file.path, text, pathWords });
  }
  return {
    chunks: id,
    search(query, limit) {
      return index
        .search(query)
        .slice(0, limit)
        .map((r) => String(r.path));
    },
  };
}
