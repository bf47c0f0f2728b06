import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectedInngestFunctions } from "../../lib/cli/commands/smoke";
import { inngestSignature, verifyInngestSignature } from "../../lib/ops/smoke";
import { type AppServer, baseEnv, cli, freePort, startApp } from "../support/app-server";
import { createTestRepo, removeTempDirs } from "../support/git-repo";

/**
 * `ballast smoke` against `next start` (the shared build), configured as a deployment is: an
 * Inngest signing key and event key (the serve endpoint in cloud mode, verifying signatures —
 * the app's embedded runner still runs the workflows, there is no Inngest server here), a
 * GitHub webhook secret, an indexed repository and a viewer key.
 */
const SIGNING_KEY = `signkey-test-${randomBytes(32).toString("hex")}`;
const WEBHOOK_SECRET = `smoke-webhook-${randomBytes(12).toString("hex")}`;
const EVENT_KEY = `smoke-event-key-${randomBytes(8).toString("hex")}`;

describe("ballast smoke against next start", () => {
  let dataDir: string;
  let server: AppServer | undefined;
  let key: string;
  /** The CLI's own environment: no secrets in it unless a test puts them there. */
  let cliEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "ballast-smoke-"));
    const env = baseEnv(dataDir, {
      GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
      INNGEST_SIGNING_KEY: SIGNING_KEY,
      INNGEST_EVENT_KEY: EVENT_KEY,
      INNGEST_RUNNER: "embedded",
      LOG_LEVEL: "warn",
    });
    cliEnv = baseEnv(dataDir, { LOG_LEVEL: "warn" });
    const repo = await createTestRepo();
    await repo.writeMany({
      "docs/harbour.md": "# Harbour\n\nThe harbour master keeps a tide ledger for every berth.\n",
    });
    await repo.commit("initial");
    const synced = await cli(cliEnv, "sync", repo.dir);
    expect(synced.code, synced.stderr).toBe(0);
    const created = await cli(cliEnv, "keys", "create", "--name", "smoke", "--role", "viewer");
    expect(created.code, created.stderr).toBe(0);
    key = /blst_[A-Za-z0-9_-]+/.exec(created.stdout)?.[0] ?? "";
    expect(key).not.toBe("");
    server = await startApp(env);
  }, 300_000);

  afterAll(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
    await removeTempDirs();
  });

  const smoke = (...args: string[]) => cli(cliEnv, "smoke", "--url", server?.url ?? "", ...args);
  const noSecrets = (text: string) => {
    for (const secret of [SIGNING_KEY, WEBHOOK_SECRET, EVENT_KEY, key])
      expect(text).not.toContain(secret);
  };

  it("passes every step against a healthy deployment, with the signed Inngest introspection", async () => {
    const run = await smoke(
      "--key",
      key,
      "--webhook-secret",
      WEBHOOK_SECRET,
      "--signing-key",
      SIGNING_KEY,
      "--query",
      "tide ledger",
      "--json",
    );
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const report = JSON.parse(run.stdout) as {
      ok: boolean;
      steps: { name: string; status: string; detail: string }[];
    };
    expect(report.ok).toBe(true);
    const step = (name: string) => report.steps.find((s) => s.name === name);
    expect(report.steps.map((s) => [s.name, s.status])).toEqual([
      ["health", "ok"],
      ["inngest", "ok"],
      ["search", "ok"],
      ["admin", "ok"],
      ["webhook", "ok"],
    ]);
    expect(step("inngest")?.detail).toMatch(
      new RegExp(`app ballast, ${await expectedInngestFunctions()} functions`),
    );
    expect(step("inngest")?.detail).not.toMatch(/different release/);
    expect(step("search")?.detail).toMatch(/^[1-3] results for "tide ledger"/);
    expect(step("admin")?.detail).toMatch(/1 sources/);
    expect(step("webhook")?.detail).toMatch(/stored \(200\).*duplicate.*refused \(401\)/);
    expect(run.stderr).toMatch(/smoke: passed/);
    noSecrets(run.stdout + run.stderr);
  }, 60_000);

  it("reads the secrets from --env-file, and prints a table", async () => {
    const file = path.join(dataDir, "smoke.env");
    await writeFile(
      file,
      `INNGEST_SIGNING_KEY=${SIGNING_KEY}\nGITHUB_WEBHOOK_SECRET=${WEBHOOK_SECRET}\n`,
    );
    const run = await smoke("--key", key, "--env-file", file);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/│ inngest\s+│ ok/);
    expect(run.stdout).toMatch(/│ webhook\s+│ ok/);
    noSecrets(run.stdout + run.stderr);
  }, 60_000);

  it("without a signing key checks that unsigned introspection is refused, and skips the webhook without a secret", async () => {
    const run = await smoke("--key", key, "--json");
    expect(run.code, run.stderr).toBe(0);
    const steps = (
      JSON.parse(run.stdout) as { steps: { name: string; status: string; detail: string }[] }
    ).steps;
    expect(steps.find((s) => s.name === "inngest")).toMatchObject({
      status: "skipped",
      detail: expect.stringMatching(/unsigned introspection refused \(401\)/),
    });
    expect(steps.find((s) => s.name === "webhook")).toMatchObject({ status: "skipped" });
  }, 60_000);

  it("fails the inngest step with a signing key the deployment does not have", async () => {
    const other = `signkey-test-${randomBytes(32).toString("hex")}`;
    const run = await smoke("--key", key, "--signing-key", other);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /step inngest failed: HTTP 401: the deployment does not accept this signing key/,
    );
    expect(run.stderr).toMatch(/smoke: FAILED \(inngest\)$/m);
    noSecrets(run.stdout + run.stderr);
    expect(run.stdout + run.stderr).not.toContain(other);
  }, 60_000);

  it("fails the webhook step with the wrong secret", async () => {
    const run = await smoke("--key", key, "--webhook-secret", "not-the-secret");
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/step webhook failed: the signed ping was refused \(401\)/);
    expect(run.stderr).toMatch(/smoke: FAILED \(webhook\)$/m);
  }, 60_000);

  it("names every step a bad API key fails", async () => {
    const run = await smoke("--key", "blst_not_a_real_key_0000000000");
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/step health failed: HTTP 401/);
    expect(run.stderr).toMatch(/step search failed: HTTP 401/);
    expect(run.stderr).toMatch(/step admin failed: GET \/api\/admin\/sources: HTTP 401/);
    expect(run.stderr).toMatch(/smoke: FAILED \(health, search, admin\)$/m);
  }, 60_000);

  it("fails every step against an address where nothing listens", async () => {
    const port = await freePort();
    const run = await cli(
      cliEnv,
      "smoke",
      "--url",
      `http://127.0.0.1:${port}`,
      "--key",
      key,
      "--webhook-secret",
      WEBHOOK_SECRET,
      "--timeout",
      "5",
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/step health failed: GET \/api\/health: .*ECONNREFUSED/);
    expect(run.stderr).toMatch(/smoke: FAILED \(health, inngest, search, admin, webhook\)$/m);
  }, 60_000);

  it("refuses a URL that is not an http(s) origin", async () => {
    for (const [url, message] of [
      ["ftp://example.com", /must be an http\(s\) URL/],
      ["https://user:pw@example.com", /must not carry credentials/],
      ["https://example.com/?x=1", /without \? or #/],
      ["http://example.com", /must be https unless it is this machine/],
      ["not a url", /is not a URL/],
    ] as const) {
      const run = await cli(cliEnv, "smoke", "--url", url, "--key", key);
      expect(run.code, url).toBe(1);
      expect(run.stderr).toMatch(message);
    }
    const missing = await cli(cliEnv, "smoke", "--url", "https://example.com");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--key/);
  }, 60_000);
});

describe("the Inngest signature", () => {
  it("verifies its own signatures and nothing else", () => {
    const key = `signkey-prod-${"ab".repeat(32)}`;
    const header = inngestSignature('{"a":1}', key, 1_700_000_000);
    expect(header).toMatch(/^t=1700000000&s=[0-9a-f]{64}$/);
    expect(verifyInngestSignature(header, '{"a":1}', key)).toBe(true);
    expect(verifyInngestSignature(header, '{"a":2}', key)).toBe(false);
    expect(verifyInngestSignature(header, '{"a":1}', `signkey-prod-${"cd".repeat(32)}`)).toBe(
      false,
    );
    // The env prefix is not part of the key: the same hex under another prefix signs alike.
    expect(verifyInngestSignature(header, '{"a":1}', `signkey-test-${"ab".repeat(32)}`)).toBe(true);
    expect(verifyInngestSignature(null, "", key)).toBe(false);
    expect(verifyInngestSignature("t=1&s=zz", "", key)).toBe(false);
  });
});
