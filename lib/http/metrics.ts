import { timingSafeEqual } from "node:crypto";
import { observeHttpRequest, renderMetrics } from "../metrics/registry";
import { getRuntime } from "../runtime";
import { bearerToken, identify, requireRole } from "./authenticate";
import { errorResponse } from "./respond";

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * GET /api/metrics: Prometheus text format. Authorization: Bearer METRICS_TOKEN (a scraper),
 * or a viewer key / console session; anything else is 401 (429 after repeated failures).
 */
export async function metricsResponse(request: Request): Promise<Response> {
  const started = performance.now();
  let status = 500;
  try {
    const runtime = await getRuntime();
    const token = bearerToken(request);
    const expected = runtime.config.monitoring.metricsToken;
    if (!(token && expected && sameToken(token, expected)))
      requireRole(await identify(runtime, request), "viewer");
    const { body, contentType } = await renderMetrics({
      db: runtime.db,
      redis: runtime.redis,
      breakers: runtime.breakers,
      monitoring: runtime.config.monitoring,
    });
    status = 200;
    return new Response(body, {
      status,
      headers: { "content-type": contentType, "cache-control": "no-store" },
    });
  } catch (error) {
    const response = errorResponse(error);
    status = response.status;
    return response;
  } finally {
    observeHttpRequest("metrics", "GET", status, (performance.now() - started) / 1000);
  }
}
