import { createScrubber } from "../log/scrub";
import { json } from "./respond";
import { withSecurityHeaders } from "./security-headers";

/**
 * Guards a framework serve handler (the Inngest endpoint) at the edge of the app:
 * - when the endpoint is not configured (no signing key and no dev mode) it answers 503 with
 *   the variables to set, instead of letting the SDK run unauthenticated or fail obscurely;
 * - no error detail reaches a caller who has not proven who it is: a 5xx answer the SDK did
 *   not sign (the SDK signs its answers only to requests whose signature it verified) becomes
 *   a generic JSON error, and the original is logged server-side. A thrown error is the same.
 *   Inngest itself, whose requests are signed, still receives the SDK's own error report.
 */
export interface ServeGuardOptions {
  /** Undefined when the endpoint may serve; otherwise why not (named variables, no values). */
  notConfigured(): string | undefined;
  /** Add HSTS to answers (outside development). */
  hsts: boolean;
  log(): { error(obj: object, msg: string): void };
}

type Handler<R extends Request, A extends unknown[]> = (
  request: R,
  ...rest: A
) => Promise<Response>;

const SIGNATURE_HEADER = "x-inngest-signature";
const scrub = createScrubber([]);

function genericError(status = 500, keep?: Headers): Response {
  const headers: Record<string, string> = {};
  keep?.forEach((value, name) => {
    if (name.startsWith("x-inngest-") || name === "retry-after") headers[name] = value;
  });
  return json({ error: { code: "internal_error", message: "internal error" } }, status, headers);
}

export function guardServeHandler<R extends Request, A extends unknown[]>(
  handler: Handler<R, A>,
  options: ServeGuardOptions,
): Handler<R, A> {
  return async (request, ...rest) =>
    withSecurityHeaders(await guarded(request, ...rest), { hsts: options.hsts });

  async function guarded(request: R, ...rest: A): Promise<Response> {
    const problem = options.notConfigured();
    if (problem) return json({ error: { code: "endpoint_not_configured", message: problem } }, 503);
    let response: Response;
    try {
      response = await handler(request, ...rest);
    } catch (error) {
      options
        .log()
        .error({ err: error, path: new URL(request.url).pathname }, "serve handler threw");
      return genericError();
    }
    if (response.status < 500 || response.headers.has(SIGNATURE_HEADER)) return response;
    const body = await response.text().catch(() => "");
    options
      .log()
      .error(
        { status: response.status, body: scrub(body).slice(0, 4000), method: request.method },
        "serve handler answered an unauthenticated request with an error; the caller got a generic one",
      );
    return genericError(response.status, response.headers);
  }
}
