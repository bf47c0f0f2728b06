import { ZodError } from "zod";
import {
  BallastError,
  PayloadTooLargeError,
  TooManyRequestsError,
  ValidationError,
} from "../errors";
import type { Logger } from "../log/logger";

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      ...headers,
    },
  });
}

/** The one place where errors become HTTP responses: `{ error: { code, message, issues? } }`. */
export function errorResponse(error: unknown, log?: Logger): Response {
  if (error instanceof ZodError) {
    return errorResponse(
      new ValidationError(
        "the request is not valid",
        error.issues.map((i) => ({ path: i.path.join(".") || "(root)", message: i.message })),
      ),
    );
  }
  if (error instanceof BallastError) {
    if (error.status >= 500) log?.warn({ err: error }, "request failed");
    const body: Record<string, unknown> = { code: error.code, message: error.message };
    if (error.issues && error.issues.length > 0) body.issues = error.issues;
    const headers: Record<string, string> =
      error instanceof TooManyRequestsError
        ? { ...error.headers, "retry-after": String(error.retryAfterSeconds) }
        : {};
    return json({ error: body }, error.status, headers);
  }
  log?.error({ err: error }, "unhandled error");
  return json({ error: { code: "internal_error", message: "internal error" } }, 500);
}

/** Reads a JSON body with a size limit; a non-JSON body is a 400 naming the problem. */
export async function readJsonBody(request: Request, maxBytes = 1024 * 1024): Promise<unknown> {
  const text = await readTextBody(request, maxBytes);
  if (text.trim() === "")
    throw new BallastError("invalid_json", "request body is empty; expected JSON", 400, false);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BallastError(
      "invalid_json",
      `request body is not valid JSON: ${(error as Error).message}`,
      400,
      false,
    );
  }
}

/**
 * Reads an optional JSON body: undefined when there is none — no body, `Content-Length: 0`, an
 * empty chunked body, or only whitespace, whatever the Content-Type says.
 */
export async function readOptionalJsonBody(
  request: Request,
  maxBytes = 1024 * 1024,
): Promise<unknown> {
  const text = await readTextBody(request, maxBytes);
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BallastError(
      "invalid_json",
      `request body is not valid JSON: ${(error as Error).message}`,
      400,
      false,
    );
  }
}

/** Reads the raw body, refusing (413) once it passes maxBytes, without buffering the rest. */
export async function readTextBody(request: Request, maxBytes: number): Promise<string> {
  const bytes = await readBodyBytes(request, maxBytes);
  return new TextDecoder().decode(bytes);
}

export async function readBodyBytes(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw new PayloadTooLargeError(maxBytes);
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new PayloadTooLargeError(maxBytes);
    }
    parts.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
