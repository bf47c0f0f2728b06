import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { errorMessage } from "../errors";
import { signGitHubPayload } from "../webhooks/github-signature";

/**
 * `ballast smoke`: one command that checks a deployment from the outside, over HTTP only, as a
 * release gate or after a rollback. Every step runs (one failure does not hide the others) and
 * the result names each failing step:
 *
 *   health   GET /api/health with the key (the detailed report): 200, every required part up
 *   inngest  GET /api/inngest signed with the Inngest signing key (the SDK's introspection):
 *            200, authenticated, cloud mode, event and signing keys set, functions registered,
 *            and the answer signed back with the same key. Without a signing key: the endpoint
 *            must refuse the unsigned request (401), and the signed check is reported skipped.
 *   search   GET /api/search?q=…&k=3 with the key: 200 and a result list
 *   admin    GET /api/admin/sources with the key: 200 and a source list (an audited admin read)
 *   webhook  (with the webhook secret) a signed GitHub ping: 200 and stored; the same delivery
 *            again: acknowledged as a duplicate; a ping with a wrong signature: 401
 */
export type SmokeStepName = "health" | "inngest" | "search" | "admin" | "webhook";
export type SmokeStatus = "ok" | "failed" | "skipped";

export interface SmokeStep {
  name: SmokeStepName;
  status: SmokeStatus;
  ms: number;
  detail: string;
}

export interface SmokeOptions {
  /** The deployment's origin, e.g. https://ballast.example.com. */
  url: string;
  /** An API key (viewer is enough). */
  key: string;
  webhookSecret?: string;
  inngestSigningKey?: string;
  /** Inngest functions this release serves (the deployment should serve as many). */
  expectedFunctions?: number;
  query?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

export interface SmokeReport {
  url: string;
  ok: boolean;
  steps: SmokeStep[];
  failed: SmokeStepName[];
}

class StepFailure extends Error {}

const fail = (message: string): never => {
  throw new StepFailure(message);
};

/**
 * Checks and normalises the base URL: https (http only to this machine), no credentials, no
 * query; trailing / dropped. Redirects are not followed (the key goes to this origin only).
 */
export function smokeBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`--url ${JSON.stringify(value.slice(0, 200))} is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new Error("--url must be an http(s) URL");
  if (url.username || url.password)
    throw new Error("--url must not carry credentials (pass the API key with --key)");
  if (url.search || url.hash) throw new Error("--url must be the app's origin, without ? or #");
  const loopback =
    url.hostname === "localhost" || /^127\./.test(url.hostname) || url.hostname === "[::1]";
  if (url.protocol === "http:" && !loopback)
    throw new Error(
      "--url must be https unless it is this machine (localhost): the API key and secrets would travel in clear text",
    );
  return url.href.replace(/\/+$/, "");
}

function removeSigningKeyPrefix(key: string): string {
  return key.replace(/^signkey-\w+-/, "");
}

/**
 * Inngest's request signature (inngest-js v4, RequestSignature / signDataWithKey): the header
 * `X-Inngest-Signature: t=<unix seconds>&s=<hex>` where s = HMAC-SHA256, keyed with the
 * signing key without its `signkey-<env>-` prefix, of the body followed by t. A GET has an
 * empty body. The SDK accepts a signature up to 5 minutes old and signs its answer the same way.
 */
export function inngestSignature(body: string, signingKey: string, unixSeconds: number): string {
  const t = String(unixSeconds);
  const s = createHmac("sha256", removeSigningKeyPrefix(signingKey))
    .update(body + t)
    .digest("hex");
  return `t=${t}&s=${s}`;
}

/** True when `header` is a valid Inngest signature of `body` under `signingKey`. */
export function verifyInngestSignature(
  header: string | null,
  body: string,
  signingKey: string,
): boolean {
  if (!header) return false;
  const params = new URLSearchParams(header);
  const t = params.get("t");
  const s = params.get("s");
  if (!t || !s || !/^\d+$/.test(t) || !/^[0-9a-f]{64}$/i.test(s)) return false;
  const expected = inngestSignature(body, signingKey, Number(t)).split("&s=")[1] as string;
  return timingSafeEqual(Buffer.from(expected, "hex"), Buffer.from(s, "hex"));
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export async function runSmoke(options: SmokeOptions): Promise<SmokeReport> {
  const base = smokeBaseUrl(options.url);
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  const auth = { authorization: `Bearer ${options.key}` };

  async function call(path: string, init: RequestInit = {}): Promise<Answer> {
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, {
        ...init,
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const reason =
        (error as Error).name === "TimeoutError"
          ? `no answer within ${timeoutMs} ms`
          : errorMessage((error as { cause?: unknown }).cause ?? error);
      return fail(`${init.method ?? "GET"} ${path}: ${reason}`);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  const errorOf = (answer: Answer) => {
    const error = (answer.json as { error?: { code?: string; message?: string } } | undefined)
      ?.error;
    return error ? `: ${error.code ?? "error"} — ${error.message ?? ""}` : "";
  };

  const steps: [SmokeStepName, () => Promise<string | { skipped: string }>][] = [
    [
      "health",
      async () => {
        const answer = await call("/api/health", { headers: auth });
        const body = answer.json as
          | {
              status?: string;
              parts?: Record<
                string,
                { status: string; required?: boolean; backend?: string; detail?: string }
              >;
            }
          | undefined;
        if (!body?.parts) fail(`HTTP ${answer.status}, not a health report${errorOf(answer)}`);
        const parts = Object.entries(body?.parts ?? {});
        const down = parts.filter(([, p]) => p.status === "down");
        const summary = parts
          .map(([name, p]) => `${name} ${p.status} (${p.backend ?? "?"})`)
          .join(", ");
        if (answer.status !== 200 || body?.status === "down")
          fail(
            `HTTP ${answer.status}, ${body?.status ?? "?"}: ${down.map(([name, p]) => `${name}${p.detail ? ` — ${p.detail}` : ""}`).join("; ") || summary}`,
          );
        if (!body?.parts?.database?.detail && answer.status === 200)
          fail("the report has no details: the key was not accepted as a viewer key");
        return `${body?.status}: ${summary}`;
      },
    ],
    [
      "inngest",
      async () => {
        const signingKey = options.inngestSigningKey;
        if (!signingKey) {
          const answer = await call("/api/inngest");
          if (answer.status === 401)
            return {
              skipped:
                "unsigned introspection refused (401), as it should be; the signed check needs the signing key (--signing-key or INNGEST_SIGNING_KEY)",
            };
          const mode = (answer.json as { mode?: string } | undefined)?.mode;
          if (answer.status === 200 && mode === "dev")
            fail("the endpoint is in dev mode: it accepts unsigned requests (INNGEST_DEV is set)");
          return fail(
            `unsigned GET answered HTTP ${answer.status}${errorOf(answer)}; expected 401`,
          );
        }
        const signature = inngestSignature("", signingKey, Math.floor(now() / 1000));
        const answer = await call("/api/inngest", {
          headers: { "x-inngest-signature": signature },
        });
        if (answer.status === 401)
          fail(
            "HTTP 401: the deployment does not accept this signing key (INNGEST_SIGNING_KEY differs)",
          );
        if (answer.status === 503) fail(`HTTP 503: the Inngest endpoint is off${errorOf(answer)}`);
        if (answer.status !== 200) fail(`HTTP ${answer.status}${errorOf(answer)}`);
        const body = (answer.json ?? {}) as {
          authentication_succeeded?: boolean;
          mode?: string;
          function_count?: number;
          has_event_key?: boolean;
          has_signing_key?: boolean;
          app_id?: string;
          serve_origin?: string | null;
          sdk_version?: string;
        };
        if (body.authentication_succeeded !== true)
          fail("the introspection is not authenticated: the signature was not accepted");
        if (body.mode !== "cloud")
          fail(`the endpoint is in ${body.mode ?? "an unknown"} mode, not cloud`);
        if (!body.has_signing_key) fail("the deployment has no signing key");
        if (!body.has_event_key)
          fail("the deployment has no INNGEST_EVENT_KEY: it cannot send events to Inngest");
        if (
          !verifyInngestSignature(
            answer.headers.get("x-inngest-signature"),
            answer.text,
            signingKey,
          )
        )
          fail("the answer is not signed with the same signing key");
        const count = body.function_count ?? 0;
        if (count === 0) fail("no functions are registered with the serve endpoint");
        const notes = [
          `app ${body.app_id ?? "?"}`,
          `${count} functions`,
          `SDK ${body.sdk_version ?? "?"}`,
          "event and signing keys set",
          "answer signed",
        ];
        if (options.expectedFunctions !== undefined && count !== options.expectedFunctions)
          notes.push(
            `warning: this release has ${options.expectedFunctions} (a different release deployed?)`,
          );
        if (body.serve_origin) {
          const origin = new URL(base).origin;
          if (body.serve_origin.replace(/\/+$/, "") !== origin)
            notes.push(`warning: INNGEST_SERVE_ORIGIN is ${body.serve_origin}, not ${origin}`);
        } else notes.push("warning: INNGEST_SERVE_ORIGIN is not set");
        return `signed introspection: ${notes.join(", ")}`;
      },
    ],
    [
      "search",
      async () => {
        const query = options.query ?? "ballast";
        const answer = await call(`/api/search?q=${encodeURIComponent(query)}&k=3`, {
          headers: auth,
        });
        const results = (answer.json as { results?: unknown } | undefined)?.results;
        if (answer.status !== 200 || !Array.isArray(results))
          fail(`HTTP ${answer.status}${errorOf(answer)}`);
        const tookMs = (answer.json as { tookMs?: number }).tookMs;
        return `${(results as unknown[]).length} results for "${query}"${tookMs === undefined ? "" : ` (${tookMs} ms in the app)`}`;
      },
    ],
    [
      "admin",
      async () => {
        const answer = await call("/api/admin/sources", { headers: auth });
        const sources = (answer.json as { sources?: unknown } | undefined)?.sources;
        if (answer.status !== 200 || !Array.isArray(sources))
          fail(`GET /api/admin/sources: HTTP ${answer.status}${errorOf(answer)}`);
        return `GET /api/admin/sources: ${(sources as unknown[]).length} sources`;
      },
    ],
    [
      "webhook",
      async () => {
        const secret = options.webhookSecret;
        if (!secret) return { skipped: "no webhook secret given (--webhook-secret)" };
        const deliveryId = `smoke-${randomUUID()}`;
        const body = JSON.stringify({
          zen: "Smoke test from ballast smoke.",
          hook_id: 1,
          hook: { type: "Repository", id: 1, name: "web", active: true, events: ["push"] },
        });
        const headers = (signature: string) => ({
          "content-type": "application/json",
          "user-agent": "GitHub-Hookshot/ballast-smoke",
          "x-github-event": "ping",
          "x-github-delivery": deliveryId,
          "x-hub-signature-256": signature,
        });
        const forged = await call("/api/webhooks/github", {
          method: "POST",
          body,
          headers: headers(signGitHubPayload(`${secret}-wrong`, body)),
        });
        if (forged.status !== 401)
          fail(`a ping with a wrong signature answered HTTP ${forged.status}, not 401`);
        const first = await call("/api/webhooks/github", {
          method: "POST",
          body,
          headers: headers(signGitHubPayload(secret, body)),
        });
        if (first.status === 401)
          fail("the signed ping was refused (401): GITHUB_WEBHOOK_SECRET differs");
        const firstBody = first.json as { ok?: boolean; deliveryId?: string } | undefined;
        if (first.status !== 200 || firstBody?.ok !== true || firstBody.deliveryId !== deliveryId)
          fail(`the signed ping answered HTTP ${first.status}${errorOf(first)}`);
        const again = await call("/api/webhooks/github", {
          method: "POST",
          body,
          headers: headers(signGitHubPayload(secret, body)),
        });
        if (again.status !== 200 || (again.json as { duplicate?: boolean })?.duplicate !== true)
          fail(`the same delivery again answered HTTP ${again.status}, not a duplicate`);
        return `ping ${deliveryId} stored (200), redelivery acknowledged as a duplicate, wrong signature refused (401)`;
      },
    ],
  ];

  const results: SmokeStep[] = [];
  for (const [name, run] of steps) {
    const started = performance.now();
    try {
      const outcome = await run();
      results.push({
        name,
        status: typeof outcome === "string" ? "ok" : "skipped",
        ms: Math.round(performance.now() - started),
        detail: typeof outcome === "string" ? outcome : outcome.skipped,
      });
    } catch (error) {
      results.push({
        name,
        status: "failed",
        ms: Math.round(performance.now() - started),
        detail:
          error instanceof StepFailure ? error.message : `unexpected error: ${errorMessage(error)}`,
      });
    }
  }
  const failed = results.filter((s) => s.status === "failed").map((s) => s.name);
  return { url: base, ok: failed.length === 0, steps: results, failed };
}
