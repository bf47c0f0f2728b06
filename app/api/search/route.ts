import { searchResponse } from "../../../lib/http/search";
import { observeHttpRequest } from "../../../lib/metrics/registry";

export const dynamic = "force-dynamic";

/** Search, timed for ballast_http_request_duration_seconds{route="search"} (the search SLO). */
export async function GET(request: Request): Promise<Response> {
  const started = performance.now();
  const response = await searchResponse(request);
  observeHttpRequest("search", "GET", response.status, (performance.now() - started) / 1000);
  return response;
}
