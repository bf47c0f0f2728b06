import { createHmac } from "node:crypto";
import webhookDefinitions from "@octokit/webhooks-examples";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../lib/errors";
import { parseGitHubEvent } from "../../lib/webhooks/github-payloads";
import { signGitHubPayload, verifyGitHubSignature } from "../../lib/webhooks/github-signature";

/** Real payloads GitHub published, from @octokit/webhooks-examples. */
function examples(event: string): Record<string, unknown>[] {
  const definition = webhookDefinitions.find((d) => d.name === event);
  if (!definition) throw new Error(`no examples for ${event}`);
  const list = definition.examples as unknown as Record<string, unknown>[];
  expect(list.length).toBeGreaterThan(0);
  return list;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

describe("verifyGitHubSignature", () => {
  const secret = "It's a Secret to Everybody";
  // The worked example from GitHub's "Validating webhook deliveries" documentation.
  const documented = {
    body: "Hello, World!",
    header: "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
  };

  it("accepts GitHub's documented example", () => {
    expect(verifyGitHubSignature(secret, documented.body, documented.header)).toBe(true);
    expect(verifyGitHubSignature(secret, Buffer.from(documented.body), documented.header)).toBe(
      true,
    );
    expect(
      verifyGitHubSignature(secret, new TextEncoder().encode(documented.body), documented.header),
    ).toBe(true);
    expect(signGitHubPayload(secret, documented.body)).toBe(documented.header);
    // GitHub sends lowercase hex; uppercase hex is the same digest.
    expect(
      verifyGitHubSignature(
        secret,
        documented.body,
        documented.header.toUpperCase().replace("SHA256", "sha256"),
      ),
    ).toBe(true);
  });

  it("accepts a real payload signed over its raw bytes", () => {
    const raw = Buffer.from(JSON.stringify(examples("push")[0]), "utf8");
    const header = `sha256=${createHmac("sha256", "s3cret").update(raw).digest("hex")}`;
    expect(verifyGitHubSignature("s3cret", raw, header)).toBe(true);
  });

  it("rejects a wrong secret and a tampered body", () => {
    expect(verifyGitHubSignature("another secret", documented.body, documented.header)).toBe(false);
    expect(verifyGitHubSignature(secret, "Hello, World?", documented.header)).toBe(false);
    expect(verifyGitHubSignature(secret, `${documented.body} `, documented.header)).toBe(false);
    const flipped = `${documented.header.slice(0, -1)}${documented.header.endsWith("7") ? "8" : "7"}`;
    expect(verifyGitHubSignature(secret, documented.body, flipped)).toBe(false);
  });

  it("treats a missing or malformed header as false without throwing", () => {
    const digest = documented.header.slice("sha256=".length);
    const bad: (string | null | undefined)[] = [
      null,
      undefined,
      "",
      "sha256=",
      digest,
      `sha1=${digest.slice(0, 40)}`,
      `sha256=${digest.slice(0, 63)}`, // one hex digit short
      `sha256=${digest}0`, // one too many
      `sha256=${digest.slice(0, 62)}`, // a different length
      `sha256=${"zz".repeat(32)}`,
      `sha256=${digest} extra`,
      `SHA-256=${digest}`,
    ];
    for (const header of bad) {
      expect(verifyGitHubSignature(secret, documented.body, header), String(header)).toBe(false);
    }
  });

  it("refuses an empty secret loudly", () => {
    expect(() => verifyGitHubSignature("", documented.body, documented.header)).toThrow(
      /secret is empty/,
    );
  });
});

describe("parseGitHubEvent on GitHub's published examples", () => {
  it("parses every push example", () => {
    for (const body of examples("push")) {
      const event = parseGitHubEvent("push", body);
      if (event.kind !== "push") throw new Error("expected a push");
      expect(event.ref).toBe(body.ref);
      expect(event.before).toBe(body.before);
      expect(event.after).toBe(body.after);
      expect(event.repository.fullName).toBe("Codertocat/Hello-World");
      expect(event.repository.defaultBranch).toBe("master");
    }
  });

  it("reduces a branch push to what the pipeline needs", () => {
    const body = examples("push").find((b) => b.ref === "refs/heads/master" && b.installation);
    expect(body).toBeDefined();
    expect(parseGitHubEvent("push", body)).toEqual({
      kind: "push",
      ref: "refs/heads/master",
      branch: "master",
      before: "0000000000000000000000000000000000000000",
      after: "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
      created: true,
      deleted: false,
      forced: false,
      repository: { fullName: "Codertocat/Hello-World", defaultBranch: "master" },
      installationId: 1,
      headCommit: {
        id: "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        timestamp: "2019-05-15T15:19:25Z",
      },
      commits: [
        { id: "6113728f27ae82c7b1a177c8d03f9e96e0adf246", added: 1, modified: 0, removed: 0 },
      ],
    });
  });

  it("gives a tag push no branch, and a deleted ref no head commit", () => {
    const deletedTag = examples("push").find(
      (b) => b.ref === "refs/tags/simple-tag" && b.deleted === true,
    );
    const event = parseGitHubEvent("push", deletedTag);
    expect(event).toMatchObject({
      kind: "push",
      branch: null,
      deleted: true,
      headCommit: null,
      commits: [],
    });
  });

  it("parses ping examples, with and without a repository", () => {
    const events = examples("ping").map((body) => parseGitHubEvent("ping", body));
    for (const event of events) {
      expect(event).toMatchObject({
        kind: "ping",
        zen: "Anything added dilutes everything else.",
        hookId: 109948940,
      });
    }
    expect(events.map((e) => (e.kind === "ping" ? e.repositoryFullName : undefined))).toContain(
      "Octocoders/Hello-World",
    );
    expect(events.map((e) => (e.kind === "ping" ? e.repositoryFullName : undefined))).toContain(
      null,
    );
  });

  it("parses installation examples for every action", () => {
    const events = examples("installation").map((body) => parseGitHubEvent("installation", body));
    const created = events.find((e) => e.kind === "installation" && e.action === "created");
    expect(created).toEqual({
      kind: "installation",
      action: "created",
      installationId: 957387,
      accountLogin: "Codertocat",
      repositories: ["Codertocat/Hello-World"],
    });
    const suspended = events.find((e) => e.kind === "installation" && e.action === "suspend");
    expect(suspended).toMatchObject({ repositories: [] });
    const actions = new Set(events.map((e) => (e.kind === "installation" ? e.action : "")));
    expect(actions).toEqual(
      new Set(["created", "deleted", "new_permissions_accepted", "suspend", "unsuspend"]),
    );
  });

  it("parses installation_repositories examples", () => {
    const events = examples("installation_repositories").map((body) =>
      parseGitHubEvent("installation_repositories", body),
    );
    expect(events).toContainEqual({
      kind: "installation_repositories",
      action: "added",
      installationId: 957387,
      accountLogin: "Codertocat",
      added: ["Codertocat/Space"],
      removed: [],
    });
    expect(events).toContainEqual({
      kind: "installation_repositories",
      action: "removed",
      installationId: 2,
      accountLogin: "octocat",
      added: [],
      removed: ["octocat/Hello-World"],
    });
  });

  it("ignores events Ballast does not handle", () => {
    const issues = webhookDefinitions.find((d) => d.name === "issues")?.examples[0];
    expect(parseGitHubEvent("issues", issues)).toEqual({ kind: "ignored", event: "issues" });
    expect(parseGitHubEvent("workflow_run", {})).toEqual({
      kind: "ignored",
      event: "workflow_run",
    });
  });
});

describe("parseGitHubEvent on malformed bodies", () => {
  function problem(event: string, body: unknown): ValidationError {
    try {
      parseGitHubEvent(event, body);
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      return error as ValidationError;
    }
    throw new Error("expected a ValidationError");
  }

  it("names the missing and mistyped fields of a push", () => {
    const body = clone(examples("push")[4] as Record<string, unknown>);
    delete body.after;
    body.forced = "yes";
    (body.repository as Record<string, unknown>).full_name = 42;
    const error = problem("push", body);
    expect(error.code).toBe("validation_failed");
    expect(error.status).toBe(422);
    expect(error.message).toMatch(/^invalid GitHub push payload: /);
    const paths = error.issues?.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(["after", "forced", "repository.full_name"]));
  });

  it("rejects a push whose shas are not shas", () => {
    const body = clone(examples("push")[4] as Record<string, unknown>);
    body.after = "not-a-sha";
    expect(problem("push", body).issues?.[0]).toMatchObject({ path: "after" });
    const commits = (clone(examples("push")[4]) as { commits: { id: unknown }[] }).commits;
    (commits[0] as { id: unknown }).id = 7;
    expect(problem("push", { ...examples("push")[4], commits }).issues?.[0]?.path).toBe(
      "commits.0.id",
    );
  });

  it("rejects bodies that are not objects, and an empty event name", () => {
    for (const body of [null, undefined, "a string", 42, []]) {
      expect(problem("push", body).issues?.[0]?.path).toBe("(root)");
    }
    expect(problem("ping", { zen: "z" }).issues?.[0]?.path).toBe("hook_id");
    expect(problem("installation", { action: "created" }).issues?.[0]?.path).toBe("installation");
    expect(
      problem("installation_repositories", { action: "added", installation: { id: "x" } }).message,
    ).toContain("installation.id");
    expect(problem("", {}).message).toContain("X-GitHub-Event");
  });

  it("lists at most five problems and counts the rest", () => {
    const error = problem("push", {});
    expect(error.issues).toHaveLength(5);
    expect(error.message).toMatch(/and \d+ more/);
  });
});
