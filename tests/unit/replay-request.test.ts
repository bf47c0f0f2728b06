import { describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { replayInputFromForm, signOffInput } from "../../lib/replay/request";

/** The console's Replays forms: the fields as the API's request, errors named by field. */
describe("replay request from the console form", () => {
  const fieldsOf = (values: Record<string, string>): Record<string, string> => {
    try {
      replayInputFromForm(values);
    } catch (error) {
      if (!(error instanceof ZodError)) throw error;
      return Object.fromEntries(error.issues.map((i) => [String(i.path[0]), i.message]));
    }
    return {};
  };

  it("reads datetime-local times as UTC and leaves empty fields out", () => {
    expect(
      replayInputFromForm({
        since: "2026-12-01T00:00",
        until: "2026-12-02T06:30:15",
        source: "  ",
        minPassRate: "",
        bundle: "",
      }),
    ).toEqual({ since: "2026-12-01T00:00:00Z", until: "2026-12-02T06:30:15Z" });
    expect(
      replayInputFromForm({
        since: "2026-12-01T00:00:00+01:00",
        until: "2026-12-01T12:00:00Z",
        source: "docs",
        minPassRate: "0.9",
      }),
    ).toEqual({
      since: "2026-12-01T00:00:00+01:00",
      until: "2026-12-01T12:00:00Z",
      source: "docs",
      minPassRate: 0.9,
    });
    expect(
      replayInputFromForm({ bundle: "archive:replay/bundles/2026-12-02/abc.json.gz" }),
    ).toEqual({ bundle: "replay/bundles/2026-12-02/abc.json.gz" });
  });

  it("names the field of each mistake", () => {
    expect(fieldsOf({})).toMatchObject({ since: expect.any(String), until: expect.any(String) });
    expect(fieldsOf({ since: "2026-12-02T00:00", until: "2026-12-01T00:00" })).toEqual({
      until: "until must be after since",
    });
    expect(fieldsOf({ since: "tomorrow", until: "2026-12-01T00:00" })).toHaveProperty("since");
    expect(
      fieldsOf({ since: "2026-12-01T00:00", until: "2026-12-02T00:00", minPassRate: "most" }),
    ).toEqual({ minPassRate: "a number from 0 to 1, e.g. 0.95" });
    expect(
      fieldsOf({ since: "2026-12-01T00:00", until: "2026-12-02T00:00", minPassRate: "1.5" }),
    ).toEqual({ minPassRate: "a number from 0 to 1" });
    expect(fieldsOf({ bundle: "../../etc/passwd" })).toHaveProperty("bundle");
    expect(
      fieldsOf({ bundle: "replay/bundles/a.json.gz", since: "2026-12-01T00:00" }),
    ).toHaveProperty("bundle");
    expect(fieldsOf({ bundle: "replay/bundles/a.json.gz", source: "docs" })).toHaveProperty(
      "source",
    );
  });

  it("takes a sign-off decision and a reason, nothing else", () => {
    expect(signOffInput.parse({ decision: "approve", reason: "  all green  " })).toEqual({
      decision: "approve",
      reason: "all green",
    });
    expect(signOffInput.safeParse({ decision: "ship", reason: "all green" }).success).toBe(false);
    expect(signOffInput.safeParse({ decision: "reject", reason: "no" }).success).toBe(false);
    expect(signOffInput.safeParse({ decision: "reject" }).success).toBe(false);
  });
});
