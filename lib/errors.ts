/**
 * Typed errors with a literal code, an HTTP status and whether a retry can help.
 * Mapped to responses once, at the edge (lib/http/respond.ts); Inngest functions
 * turn non-retryable ones into NonRetriableError.
 */
export interface ErrorIssue {
  path: string;
  message: string;
}

export class BallastError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly retryable: boolean,
    readonly issues?: ErrorIssue[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class BadRequestError extends BallastError {
  constructor(message: string, code = "bad_request") {
    super(code, message, 400, false);
  }
}

export class ValidationError extends BallastError {
  constructor(message: string, issues: ErrorIssue[] = []) {
    super("validation_failed", message, 422, false, issues);
  }
}

export class UnauthorizedError extends BallastError {
  constructor(message = "a valid API key is required (Authorization: Bearer <key>)") {
    super("unauthorized", message, 401, false);
  }
}

export class ForbiddenError extends BallastError {
  constructor(message: string) {
    super("forbidden", message, 403, false);
  }
}

export class NotFoundError extends BallastError {
  constructor(message: string) {
    super("not_found", message, 404, false);
  }
}

export class ConflictError extends BallastError {
  constructor(message: string, code = "conflict") {
    super(code, message, 409, false);
  }
}

export class PayloadTooLargeError extends BallastError {
  constructor(limitBytes: number) {
    super("payload_too_large", `request body exceeds the limit of ${limitBytes} bytes`, 413, false);
  }
}

/** The caller sent too many requests; answered 429 with Retry-After. */
export class TooManyRequestsError extends BallastError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    /** RateLimit-* headers to answer with. */
    readonly headers: Record<string, string> = {},
  ) {
    super("rate_limited", message, 429, true);
  }
}

/** A dependency is down or slow: worth retrying later. */
export class UnavailableError extends BallastError {
  constructor(message: string, code = "unavailable", options?: { cause?: unknown }) {
    super(code, message, 503, true, undefined, options);
  }
}

/** An external API answered with an error. 429 and 5xx are retryable; other 4xx are not. */
export class ProviderError extends BallastError {
  constructor(
    readonly provider: string,
    readonly httpStatus: number | undefined,
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    const retryable =
      httpStatus === undefined || httpStatus === 408 || httpStatus === 429 || httpStatus >= 500;
    super(`${provider}_error`, message, 502, retryable, undefined, options);
  }
}

/**
 * A circuit breaker is open: the dependency failed too often and is not called until
 * `retryAt` (epoch ms). Retryable, and says when: a workflow step sleeps until then instead of
 * spending its retries; Inngest gets a RetryAfterError.
 */
export class BreakerOpenError extends BallastError {
  readonly retryAfterMs: number;
  constructor(
    readonly dependency: string,
    readonly retryAt: number,
    now = Date.now(),
  ) {
    super(
      "breaker_open",
      `${dependency} is unavailable (circuit breaker open); next attempt after ${new Date(retryAt).toISOString()}`,
      503,
      true,
    );
    this.retryAfterMs = Math.max(0, retryAt - now);
  }
}

export function isRetryable(error: unknown): boolean {
  if (error instanceof BallastError) return error.retryable;
  return true;
}

/**
 * An error's message, fit to store, log or return: drizzle wraps a driver's error as
 * "Failed query: <sql> params: <values>", and the values can be file contents or secrets, so
 * such a message is replaced by the driver's own message below it (wrappers repeat it), or by
 * "database query failed" when the cause did not survive serialisation.
 */
export function errorMessage(error: unknown): string {
  const message = messageOf(error);
  if (!message.startsWith("Failed query:")) return message;
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e; depth++) {
    const text = messageOf(e);
    if (!text.startsWith("Failed query:")) return `database query failed: ${text}`;
    e = (e as { cause?: unknown }).cause;
  }
  return "database query failed";
}

/** The message of an Error, or of a serialised one (`{ name, message }`, as onFailure gets it). */
function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === "string" ? message : String(error);
}
