import { getConfig } from "../config";
import { errorMessage } from "../errors";
import { checkHealth } from "../health/check";
import { createScrubber } from "../log/scrub";
import { getRuntime } from "../runtime";
import { json } from "./respond";

/** GET /api/health: `?probe=live` answers liveness only; otherwise readiness of every part. */
export async function healthResponse(request: Request): Promise<Response> {
  if (new URL(request.url).searchParams.get("probe") === "live") {
    return json({ status: "ok", probe: "live", checkedAt: new Date().toISOString() });
  }
  let runtime: Awaited<ReturnType<typeof getRuntime>>;
  try {
    runtime = await getRuntime();
  } catch (error) {
    return json(
      {
        status: "down",
        checkedAt: new Date().toISOString(),
        error: {
          code: "backends_unavailable",
          message: createScrubber(knownSecrets())(errorMessage(error)),
        },
      },
      503,
    );
  }
  const report = await checkHealth(runtime);
  // Backend error messages end up in `detail`: scrub any secret they might echo.
  const scrub = createScrubber(runtime.config.secrets);
  const body = JSON.parse(scrub(JSON.stringify(report))) as unknown;
  return json(body, report.status === "down" ? 503 : 200);
}

function knownSecrets(): string[] {
  try {
    return getConfig().secrets;
  } catch {
    return []; // an invalid configuration's error names variables, never values
  }
}
