import { BallastError } from "../errors";
import { checkHealth, type HealthReport } from "../health/check";
import { createScrubber } from "../log/scrub";
import { getLogger, getRuntime } from "../runtime";
import { authenticate, bearerToken } from "./authenticate";
import { errorResponse, json } from "./respond";

/**
 * GET /api/health. `?probe=live` answers liveness only, to anyone. Readiness: anonymous callers
 * get each part's status, backend and latency — no filesystem path, host name or error text;
 * a caller with a viewer key (Authorization: Bearer) gets the detailed report.
 */
export async function healthResponse(request: Request): Promise<Response> {
  if (new URL(request.url).searchParams.get("probe") === "live") {
    return json({ status: "ok", probe: "live", checkedAt: new Date().toISOString() });
  }
  let runtime: Awaited<ReturnType<typeof getRuntime>>;
  try {
    runtime = await getRuntime();
  } catch (error) {
    // The reason (a path, a host, a lock holder) goes to the log, not to the caller.
    try {
      getLogger().error({ err: error }, "health: backends failed to open");
    } catch {
      // an invalid configuration: the server refused to start and said why
    }
    return json(
      {
        status: "down",
        checkedAt: new Date().toISOString(),
        error: {
          code: "backends_unavailable",
          message: "the backends failed to open; the server log says why",
        },
      },
      503,
    );
  }
  let detailed = false;
  if (bearerToken(request) !== null || request.headers.has("authorization")) {
    try {
      await authenticate(runtime, request, "viewer");
      detailed = true;
    } catch (error) {
      if (error instanceof BallastError) return errorResponse(error);
      return errorResponse(error, runtime.log);
    }
  }
  const report = await checkHealth(runtime);
  const status = report.status === "down" ? 503 : 200;
  if (!detailed) return json(anonymousView(report), status);
  // Backend error messages end up in `detail`: scrub any secret they might echo.
  const scrub = createScrubber(runtime.config.secrets);
  return json(JSON.parse(scrub(JSON.stringify(report))) as unknown, status);
}

/** The report without `detail` (paths, hosts, error text): what anyone may see. */
function anonymousView(report: HealthReport): HealthReport {
  const parts: HealthReport["parts"] = {};
  for (const [name, part] of Object.entries(report.parts)) {
    const { detail: _hidden, ...rest } = part;
    parts[name] = rest;
  }
  return { ...report, parts };
}
