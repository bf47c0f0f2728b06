import { parseSearchMode, searchChunks, validateSearch } from "../index/search";
import { enforceInbound, limitsOf, withHeaders } from "../limits/policies";
import { getSource } from "../pipeline/source-records";
import { getRuntime } from "../runtime";
import { authenticate } from "./authenticate";
import { errorResponse, json } from "./respond";

/**
 * GET /api/search?q=&k=&source=&mode= — ranked chunks with source, path, line range, score,
 * snippet and why each matched (lexical terms and weights, vector similarity, path and symbol
 * matches). mode: hybrid (default), lexical or vector. Needs a viewer key: indexed code is usually private. Not audited (read-only and
 * frequent); admin actions are.
 */
export async function searchResponse(request: Request): Promise<Response> {
  let runtime: Awaited<ReturnType<typeof getRuntime>> | undefined;
  try {
    runtime = await getRuntime();
    const caller = await authenticate(runtime, request, "viewer");
    const limitHeaders = await enforceInbound(
      runtime.redis,
      "search",
      `key:${caller.id}`,
      limitsOf(runtime.config),
    );
    const params = new URL(request.url).searchParams;
    const kText = params.get("k");
    const k =
      kText === null || kText === "" ? undefined : /^\d+$/.test(kText) ? Number(kText) : Number.NaN;
    const q = params.get("q");
    if (q === null || q.trim() === "")
      return json(
        { error: { code: "missing_query", message: "q is required (GET /api/search?q=...)" } },
        400,
      );
    const valid = validateSearch(q, k);
    const mode = parseSearchMode(params.get("mode"));
    const sourceName = params.get("source");
    const source = sourceName ? await getSource(runtime.db, sourceName) : undefined;
    const started = performance.now();
    const results = await searchChunks(runtime.db, runtime.embedder, {
      query: valid.query,
      k: valid.k,
      sourceId: source?.id,
      efSearch: runtime.config.search.efSearch,
      mode,
      ranking: runtime.config.search.ranking,
    });
    return withHeaders(
      json({
        query: valid.query,
        k: valid.k,
        mode,
        source: source?.name ?? null,
        embeddingSpace: runtime.embedder.space,
        tookMs: Math.round((performance.now() - started) * 10) / 10,
        results,
      }),
      limitHeaders,
    );
  } catch (error) {
    return errorResponse(error, runtime?.log);
  }
}
