import { describe, expect, it } from "vitest";
import { errorMessage } from "../../lib/errors";

/** A drizzle-style wrapper: the query's text and parameters (file contents, secrets) in its message. */
function failedQuery(cause?: unknown): Error {
  return Object.assign(
    new Error(
      'Failed query: insert into chunks (content) values ($1)\nparams: const token = "ghp_secret"',
    ),
    cause === undefined ? {} : { cause },
  );
}

describe("errorMessage", () => {
  it("returns an ordinary error's message, and a non-error as text", () => {
    expect(errorMessage(new Error("provider down"))).toBe("provider down");
    expect(errorMessage("plain")).toBe("plain");
    expect(errorMessage({ name: "Error", message: "serialised" })).toBe("serialised");
  });

  it("replaces a failed query's text and parameters by the driver's message below it", () => {
    const wrapped = failedQuery(new Error("Connection terminated unexpectedly"));
    expect(errorMessage(wrapped)).toBe("database query failed: Connection terminated unexpectedly");
    // A step's wrapper repeating the message, with the query error as its cause.
    const step = Object.assign(new Error(wrapped.message), { cause: wrapped });
    expect(errorMessage(step)).toBe("database query failed: Connection terminated unexpectedly");
  });

  it("keeps nothing of the query when no cause survived (a serialised failure)", () => {
    const serialised = { name: "Error", message: failedQuery().message };
    const message = errorMessage(serialised);
    expect(message).toBe("database query failed");
    expect(errorMessage(failedQuery())).not.toMatch(/insert|params|ghp_secret/);
  });
});
