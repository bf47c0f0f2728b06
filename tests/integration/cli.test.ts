/**
 * The `ballast` CLI as an operator runs it: `node bin/ballast.js …` in a child process, with a
 * controlled environment (tests/support/cli.ts) and its own data directory per group. The
 * groups run concurrently (describe.concurrent: each has its own PGlite); the steps inside a
 * group run in order (it.sequential), as they build on each other.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { openPglite } from "../../db/pglite";
import {
  allOutput,
  type CliResult,
  describeResult,
  keyValues,
  runCli,
  startCli,
  tableRecords,
} from "../support/cli";
import { git, makeTempDir, removeTempDirs, TestRepo } from "../support/git-repo";
import { freePort, redisServerBinary, startRedisServer } from "../support/redis-server";
import { startS3Server } from "../support/s3-server";
import { startUpstashBridge } from "../support/upstash-bridge";

const REQUIRED_IN_PRODUCTION = [
  "DATABASE_URL",
  "UPSTASH_REDIS_REST_URL",
  "UPSTASH_REDIS_REST_TOKEN",
  "S3_BUCKET",
  "INNGEST_EVENT_KEY",
  "INNGEST_SIGNING_KEY",
];

/** A latency as people read it: whole or at most two decimals, then "ms". */
const LATENCY = /^\d+(\.\d{1,2})? ms\b/;

let template: Promise<string> | undefined;

/**
 * A data directory whose database already exists and is migrated: a copy of one made once by
 * `ballast db migrate` (creating a PGlite database costs a few CPU-seconds; copying it does
 * not). The main flow starts from an empty directory instead, as a new user does.
 */
async function migratedDataDir(prefix: string): Promise<string> {
  template ??= (async () => {
    const dir = await makeTempDir("ballast-cli-template-");
    const result = await runCli(["db", "migrate"], { dataDir: dir });
    if (result.code !== 0 || !result.stdout.includes("migrations applied to pglite"))
      throw new Error(`db migrate failed:\n${describeResult(result)}`);
    return dir;
  })();
  const source = await template;
  const dir = await makeTempDir(prefix);
  await cp(source, dir, { recursive: true });
  return dir;
}

/** A new repository in a folder called `name` (so the source name is predictable). */
async function namedRepo(name: string, files: Record<string, string>): Promise<TestRepo> {
  const dir = path.join(await makeTempDir("ballast-cli-repo-"), name);
  await mkdir(dir);
  await git(dir, ["init", "-q", "--initial-branch=main"]);
  const repo = new TestRepo(dir, "main");
  await repo.writeMany(files);
  await repo.commit("initial");
  return repo;
}

function envFile(vars: Record<string, string>): string {
  return `${Object.entries(vars)
    .map(([key, value]) => `${key}=${value}`)
    .join("\n")}\n`;
}

/** A loopback stand-in for the Inngest event API: records requests, accepts every batch. */
async function startFakeEventApi(): Promise<{
  url: string;
  requests: { method: string; path: string; body: string }[];
  close(): Promise<void>;
}> {
  const requests: { method: string; path: string; body: string }[] = [];
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    requests.push({ method: req.method ?? "", path: req.url ?? "", body });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ids: [], status: 200 }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => closeServer(server) };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Serves a bare repository over git's "dumb" HTTP protocol (static files), holding every
 * request until `release()`: a sync of this URL is parked inside its first git fetch, with
 * the database open, for as long as the test needs.
 */
async function startGatedGitServer(bareDir: string): Promise<{
  url: string;
  /** Resolves when the first request has arrived (and is being held). */
  firstRequest: Promise<void>;
  release(): void;
  close(): Promise<void>;
}> {
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let arrived = () => {};
  const firstRequest = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const server = createServer(async (req: IncomingMessage, res) => {
    arrived();
    await gate;
    const file = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname).replace(
      /^\/harbour\.git\//,
      "",
    );
    const full = path.resolve(bareDir, file);
    if (!full.startsWith(`${bareDir}${path.sep}`)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(full);
      res.writeHead(200, { "content-type": "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/harbour.git`,
    firstRequest,
    release,
    close: () => closeServer(server),
  };
}

/** The pid of a process that has already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  const pid = child.pid;
  await once(child, "exit");
  if (pid === undefined) throw new Error("no pid");
  return pid;
}

interface SearchJson {
  query: string;
  results: { source: string; path: string; score: number; snippet: string }[];
}

afterAll(async () => {
  await removeTempDirs();
});

// Each test starts CLI processes (tsx, then PGlite in a fresh directory): generous time, so a
// loaded machine makes them slow, not failing.
describe("ballast CLI (child process)", { timeout: 180_000 }, () => {
  describe.concurrent("validate-env", () => {
    let dataDir: string;
    beforeAll(async () => {
      dataDir = await migratedDataDir("ballast-cli-env-");
    });

    it.sequential("production on an empty environment exits 1 naming every required variable", async ({
      expect,
    }) => {
      const result = await runCli(["validate-env", "--mode", "production"], { dataDir });
      expect(result.code, describeResult(result)).toBe(1);
      for (const variable of REQUIRED_IN_PRODUCTION)
        expect(result.stderr, variable).toMatch(new RegExp(`^\\s*- ${variable}: `, "m"));
      expect(result.stdout).not.toContain("configuration valid");
    });

    it.sequential("passes a complete production env file and prints the summary without its secrets", async ({
      expect,
    }) => {
      const secrets = {
        DATABASE_URL: "postgres://ballast:pg-pass-7d1e0c@db.internal.example:5432/ballast",
        UPSTASH_REDIS_REST_TOKEN: "upstash-token-91ac22f0",
        S3_SECRET_ACCESS_KEY: "s3-secret-5be0d7a1",
        INNGEST_EVENT_KEY: "event-key-0c83aa41",
        INNGEST_SIGNING_KEY: "signkey-prod-6a0f3e29b1c4",
      };
      const file = path.join(dataDir, "production.env");
      await writeFile(
        file,
        envFile({
          ...secrets,
          UPSTASH_REDIS_REST_URL: "https://eu1-ballast.upstash.io",
          S3_BUCKET: "ballast-archive",
          S3_REGION: "eu-west-1",
          S3_ACCESS_KEY_ID: "AKIAEXAMPLE0001",
        }),
      );
      const result = await runCli(["validate-env", "--mode", "production", "--env-file", file], {
        dataDir,
      });
      expect(result.code, describeResult(result)).toBe(0);
      expect(result.stdout).toContain("configuration valid for production");
      for (const part of ["database", "redis", "archive", "inngest", "embedding"])
        expect(result.stdout).toMatch(new RegExp(`ballast: ${part}: `));
      expect(result.stdout).toContain("db.internal.example:5432");
      expect(result.stdout).toContain("S3 bucket ballast-archive");
      const output = allOutput(result);
      expect(output).not.toContain("pg-pass-7d1e0c");
      for (const [name, secret] of Object.entries(secrets))
        if (name !== "DATABASE_URL") expect(output, name).not.toContain(secret);
    });

    it.sequential("names each malformed value, without echoing a secret", async ({ expect }) => {
      const file = path.join(dataDir, "malformed.env");
      await writeFile(
        file,
        envFile({
          BALLAST_ENV: "development",
          EMBEDDING_DIMENSIONS: "abc",
          LOG_LEVEL: "loud",
          INNGEST_SIGNING_KEY: "not-a-signing-key-3f9e1b77",
        }),
      );
      const result = await runCli(["validate-env", "--env-file", file], { dataDir });
      expect(result.code, describeResult(result)).toBe(1);
      expect(result.stderr).toMatch(/- EMBEDDING_DIMENSIONS: must be a whole number/);
      expect(result.stderr).toMatch(/- LOG_LEVEL: must be one of/);
      expect(result.stderr).toMatch(/- INNGEST_SIGNING_KEY: /);
      expect(allOutput(result)).not.toContain("3f9e1b77");
    });

    it.sequential("refuses an unknown --mode", async ({ expect }) => {
      const result = await runCli(["validate-env", "--mode", "prod"], { dataDir });
      expect(result.code, describeResult(result)).not.toBe(0);
      expect(result.stderr).toContain(
        "--mode must be one of development, test, staging, production",
      );
      expect(result.stderr).toContain("prod");
      expect(result.stdout).not.toContain("configuration valid");
    });

    it.sequential("reports a missing env file as a CLI error naming the file", async ({
      expect,
    }) => {
      const missing = path.join(dataDir, "no-such.env");
      const result = await runCli(["validate-env", "--env-file", missing], { dataDir });
      // The CLI's contract: 1 for a failure (Node 20 itself answers `--env-file` with exit 9).
      expect(result.code, describeResult(result)).toBe(1);
      expect(result.stderr).toContain(missing);
      expect(result.stderr).toMatch(/cannot read env file/);
    });

    it.sequential("--check-connections on the development defaults: latency per backend, Inngest optional", async ({
      expect,
    }) => {
      const result = await runCli(["validate-env", "--check-connections"], { dataDir });
      expect(result.code, describeResult(result)).toBe(0);
      const rows = new Map(tableRecords(result.stdout).map((r) => [r.backend, r] as const));
      expect([...rows.keys()]).toEqual([
        "database (pglite)",
        "redis (in-process)",
        "archive (folder)",
        "inngest (off)",
      ]);
      const reached = ["database (pglite)", "redis (in-process)", "archive (folder)"];
      for (const part of reached) {
        expect(rows.get(part)?.status, part).toBe("ok");
        expect(rows.get(part)?.["latency / error"], part).toMatch(/^\d[\d.]* ms\b/);
      }
      // No signing key and no INNGEST_DEV: Inngest is off (events wait in the outbox), not probed.
      expect(rows.get("inngest (off)")?.status).toBe("off");
      expect(rows.get("inngest (off)")?.["latency / error"]).toMatch(/outbox/);
      // Last, as it is cosmetic: latencies are rounded for people to read.
      for (const part of reached)
        expect(rows.get(part)?.["latency / error"], part).toMatch(LATENCY);
    });

    it.sequential("--check-connections in production fails on an unreachable database, naming it, and leaks no secret", {
      skip: redisServerBinary() === null,
    }, async ({ expect }) => {
      const redis = await startRedisServer();
      const bridge = await startUpstashBridge({ redisUrl: redis.url });
      const s3 = await startS3Server({ bucket: "ballast-cli-check" });
      const inngest = await startFakeEventApi();
      try {
        const closedPort = await freePort();
        const dbPassword = "pg-pass-e41b09";
        const eventKey = "event-key-2d7c5e";
        const signingKey = "signkey-prod-9e8d7c6b5a";
        const file = path.join(dataDir, "unreachable-db.env");
        await writeFile(
          file,
          envFile({
            DATABASE_URL: `postgres://ballast:${dbPassword}@127.0.0.1:${closedPort}/ballast`,
            UPSTASH_REDIS_REST_URL: bridge.url,
            UPSTASH_REDIS_REST_TOKEN: bridge.token,
            S3_BUCKET: s3.bucket,
            S3_ENDPOINT: s3.endpoint,
            S3_REGION: s3.region,
            S3_FORCE_PATH_STYLE: "true",
            S3_ACCESS_KEY_ID: s3.accessKeyId,
            S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
            INNGEST_BASE_URL: inngest.url,
            INNGEST_EVENT_KEY: eventKey,
            INNGEST_SIGNING_KEY: signingKey,
          }),
        );
        const result = await runCli(
          ["validate-env", "--mode", "production", "--env-file", file, "--check-connections"],
          { dataDir },
        );
        expect(result.code, describeResult(result)).toBe(1);
        const rows = new Map(tableRecords(result.stdout).map((r) => [r.backend, r] as const));
        expect(rows.get("database (pg)")?.status, describeResult(result)).toBe("FAILED");
        expect(rows.get("database (pg)")?.["latency / error"]).toMatch(/ECONNREFUSED/);
        const reached = ["redis (upstash)", "archive (s3)", "inngest (cloud)"];
        for (const part of reached) {
          expect(rows.get(part)?.status, `${part}\n${describeResult(result)}`).toBe("ok");
          expect(rows.get(part)?.["latency / error"], part).toMatch(/^\d[\d.]* ms\b/);
        }
        // The Inngest probe really reached the event API, with an empty batch.
        expect(inngest.requests).toContainEqual({
          method: "POST",
          path: `/e/${eventKey}`,
          body: "[]",
        });
        const output = allOutput(result);
        for (const secret of [dbPassword, bridge.token, s3.secretAccessKey, eventKey, signingKey])
          expect(output).not.toContain(secret);
        // Last, as it is cosmetic: latencies are rounded for people to read.
        for (const part of reached)
          expect(rows.get(part)?.["latency / error"], part).toMatch(LATENCY);
      } finally {
        await inngest.close();
        await s3.close();
        await bridge.close();
        await redis.stop();
      }
    });
  });

  describe.concurrent("keys", () => {
    let dataDir: string;
    let key = "";
    let prefix = "";
    beforeAll(async () => {
      dataDir = await migratedDataDir("ballast-cli-keys-");
    });

    it.sequential("keys create prints a blst_ key once", async ({ expect }) => {
      const result = await runCli(["keys", "create", "--name", "ops", "--role", "admin"], {
        dataDir,
      });
      expect(result.code, describeResult(result)).toBe(0);
      const keys = result.stdout.match(/blst_[A-Za-z0-9]+_[A-Za-z0-9_-]+/g) ?? [];
      expect(keys, describeResult(result)).toHaveLength(1);
      key = keys[0] ?? "";
      prefix = key.split("_")[1] ?? "";
      expect(prefix).not.toBe("");
      expect(result.stdout).toContain('admin key "ops"');
      expect(result.stderr).not.toContain(key);
    });

    it.sequential("keys list shows the key without its secret", async ({ expect }) => {
      const result = await runCli(["keys", "list"], { dataDir });
      expect(result.code, describeResult(result)).toBe(0);
      const rows = tableRecords(result.stdout);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ prefix, name: "ops", role: "admin", revoked: "" });
      const secretPart = key.slice(`blst_${prefix}_`.length);
      expect(secretPart.length).toBeGreaterThan(16);
      expect(allOutput(result)).not.toContain(secretPart);
    });

    it.sequential("keys create with an unknown role fails clearly and creates nothing", async ({
      expect,
    }) => {
      const result = await runCli(["keys", "create", "--name", "x", "--role", "bogus"], {
        dataDir,
      });
      expect(result.code, describeResult(result)).toBe(1);
      expect(result.stderr).toMatch(/role must be one of viewer, operator, admin/);
      expect(result.stderr).toContain("bogus");
      expect(result.stdout).not.toMatch(/blst_/);
    });

    it.sequential("keys revoke <prefix> revokes it; keys list shows when", async ({ expect }) => {
      const revoked = await runCli(["keys", "revoke", prefix], { dataDir });
      expect(revoked.code, describeResult(revoked)).toBe(0);
      expect(revoked.stdout).toContain(`revoked "ops" (${prefix})`);

      const list = await runCli(["keys", "list"], { dataDir });
      expect(list.code, describeResult(list)).toBe(0);
      const [row] = tableRecords(list.stdout);
      expect(row?.name).toBe("ops");
      expect(row?.revoked).toMatch(/^\d{4}-\d\d-\d\dT/);
    });
  });

  describe.concurrent("sync, search, runs and sources on a local git repository", () => {
    let dataDir: string;
    let repo: TestRepo;
    let firstCommit = "";
    let firstRunId = "";

    beforeAll(async () => {
      dataDir = await makeTempDir("ballast-cli-flow-");
      repo = await namedRepo("harbour", {
        "README.md":
          "# Harbour\n\nThe lighthouse keeper writes every passing ship into the harbour ledger.\n",
        "src/invoice.ts":
          "export function computeInvoiceTotal(items: { price: number; qty: number }[]) {\n  return items.reduce((sum, item) => sum + item.price * item.qty, 0);\n}\n",
        "docs/quokka.md":
          "# Quokka\n\nThe quokka is a small marsupial that lives on Rottnest Island and smiles.\n",
      });
      firstCommit = await repo.head();
    });

    it.sequential("sync <path> creates the source, reports progress on stderr and a summary on stdout", async ({
      expect,
    }) => {
      const result = await runCli(["sync", repo.dir], { dataDir });
      expect(result.code, describeResult(result)).toBe(0);
      expect(result.stderr).toContain(`syncing "harbour" (git ${repo.dir})`);
      expect(result.stderr).toContain("planning…");
      expect(result.stderr).toMatch(/^indexing: \d+\/3 documents, \d+ chunks embedded/m);
      expect(result.stderr).toMatch(/^finishing: 3\/3 documents/m);
      const summary = keyValues(result.stdout);
      expect(summary.get("status"), describeResult(result)).toBe("succeeded");
      expect(summary.get("mode")).toBe("full");
      expect(summary.get("commits")).toBe(firstCommit.slice(0, 12));
      expect(summary.get("documents planned")).toBe("3");
      expect(summary.get("indexed")).toBe("3");
      expect(summary.get("failed")).toBe("0");
      firstRunId = summary.get("run") ?? "";
      expect(firstRunId).toMatch(/^[0-9a-f-]{36}$/);
      // Progress goes to stderr only; stdout is the summary.
      expect(result.stdout).not.toContain("planning");
    });

    it.sequential("sources list shows the source, its synced commit and its documents", async ({
      expect,
    }) => {
      const result = await runCli(["sources", "list"], { dataDir });
      expect(result.code, describeResult(result)).toBe(0);
      expect(tableRecords(result.stdout)).toEqual([
        expect.objectContaining({
          name: "harbour",
          kind: "git",
          location: repo.dir,
          status: "active",
          "synced commit": firstCommit.slice(0, 12),
        }),
      ]);
      expect(tableRecords(result.stdout)[0]?.documents, describeResult(result)).toBe("3");
    });

    it.sequential("search --json ranks the file that answers the query first", async ({
      expect,
    }) => {
      const result = await runCli(
        ["search", "compute the invoice total from item price and qty", "--json"],
        { dataDir },
      );
      expect(result.code, describeResult(result)).toBe(0);
      const body = JSON.parse(result.stdout) as SearchJson;
      expect(body.query).toBe("compute the invoice total from item price and qty");
      expect(body.results[0]).toMatchObject({ source: "harbour", path: "src/invoice.ts" });
    });

    it.sequential("runs lists the run; runs <id> prints it as JSON", async ({ expect }) => {
      const list = await runCli(["runs"], { dataDir });
      expect(list.code, describeResult(list)).toBe(0);
      expect(tableRecords(list.stdout)).toEqual([
        expect.objectContaining({
          run: firstRunId.slice(0, 8),
          source: "harbour",
          status: "succeeded",
          trigger: "cli",
          mode: "full",
          planned: "3",
          indexed: "3",
        }),
      ]);

      const one = await runCli(["runs", firstRunId], { dataDir });
      expect(one.code, describeResult(one)).toBe(0);
      expect(JSON.parse(one.stdout)).toMatchObject({
        id: firstRunId,
        status: "succeeded",
        trigger: "cli",
        mode: "full",
        toCommit: firstCommit,
        counts: { planned: 3, processed: 3, failed: 0 },
      });
    });

    it.sequential("sync <name> after a commit is incremental: changed and added files indexed, deleted removed", async ({
      expect,
    }) => {
      await repo.write(
        "src/invoice.ts",
        "export function computeInvoiceTotal(items: { price: number; qty: number; taxRate: number }[]) {\n  return items.reduce((sum, item) => sum + item.price * item.qty * (1 + item.taxRate), 0);\n}\n",
      );
      await repo.write(
        "src/shipping.ts",
        "export function shippingCostForParcel(weightKg: number) {\n  return 4.5 + weightKg * 1.2;\n}\n",
      );
      await repo.remove("docs/quokka.md");
      const secondCommit = await repo.commit("tax, shipping, no quokka");

      const result = await runCli(["sync", "harbour"], { dataDir });
      expect(result.code, describeResult(result)).toBe(0);
      const summary = keyValues(result.stdout);
      expect(summary.get("status"), describeResult(result)).toBe("succeeded");
      expect(summary.get("mode")).toBe("incremental");
      expect(summary.get("commits")).toBe(
        `${firstCommit.slice(0, 12)} → ${secondCommit.slice(0, 12)}`,
      );
      expect(summary.get("indexed")).toBe("2");
      expect(summary.get("deleted")).toBe("1");
      expect(summary.get("run")).not.toBe(firstRunId);

      const search = await runCli(["search", "shipping cost for a parcel by weight", "--json"], {
        dataDir,
      });
      expect(search.code, describeResult(search)).toBe(0);
      const body = JSON.parse(search.stdout) as SearchJson;
      expect(body.results[0]?.path).toBe("src/shipping.ts");
      expect(body.results.map((r) => r.path)).not.toContain("docs/quokka.md");
      expect(body.results.find((r) => r.path === "src/invoice.ts")?.snippet).toContain("taxRate");
    });

    it.sequential("sources remove needs --yes, then removes the source and its documents", async ({
      expect,
    }) => {
      const refused = await runCli(["sources", "remove", "harbour"], { dataDir });
      expect(refused.code, describeResult(refused)).toBe(1);
      expect(refused.stderr).toContain("--yes");

      const removed = await runCli(["sources", "remove", "harbour", "--yes"], { dataDir });
      expect(removed.code, describeResult(removed)).toBe(0);
      // Still all there after the refused attempt: README, invoice, shipping.
      expect(removed.stdout).toContain('removed "harbour" and 3 documents');

      const list = await runCli(["sources", "list"], { dataDir });
      expect(list.code, describeResult(list)).toBe(0);
      expect(list.stdout).toContain("no sources yet");
    });
  });

  describe.concurrent("bad input", () => {
    let dataDir: string;
    let plainDir: string;
    beforeAll(async () => {
      dataDir = await migratedDataDir("ballast-cli-bad-");
      plainDir = await makeTempDir("ballast-cli-plain-");
      await writeFile(path.join(plainDir, "notes.txt"), "not a repository\n");
    });

    it.sequential("sync of a path that does not exist exits 1 saying so", async ({ expect }) => {
      const result = await runCli(["sync", "/nonexistent/path"], { dataDir });
      expect(result.code, describeResult(result)).toBe(1);
      expect(allOutput(result)).toMatch(/\/nonexistent\/path does not exist/);
    });

    it.sequential("sync of a folder that is not a git repository exits 1 saying so", async ({
      expect,
    }) => {
      const result = await runCli(["sync", plainDir], { dataDir });
      expect(result.code, describeResult(result)).toBe(1);
      expect(allOutput(result)).toContain(`${plainDir} is not a git repository`);
    });

    it.sequential("a failed sync of a bad location leaves no source behind", async ({ expect }) => {
      const result = await runCli(["sources", "list"], { dataDir });
      expect(result.code, describeResult(result)).toBe(0);
      expect(result.stdout, describeResult(result)).toContain("no sources yet");
    });

    it.sequential('search "" exits 1 naming the problem', async ({ expect }) => {
      const result = await runCli(["search", ""], { dataDir });
      expect(result.code, describeResult(result)).toBe(1);
      expect(result.stderr).toContain("query is empty");
    });

    it.sequential("an unknown command exits 2 with usage", async ({ expect }) => {
      const result = await runCli(["frobnicate"], { dataDir });
      expect(result.code, describeResult(result)).toBe(2);
      expect(result.stderr).toContain("unknown command 'frobnicate'");
      expect(result.stderr).toContain("Usage: ballast");
    });

    it.sequential("runs with an id that is not a UUID is a clear error, not a database error", async ({
      expect,
    }) => {
      const result = await runCli(["runs", "not-a-uuid"], { dataDir });
      expect(result.code, describeResult(result)).toBe(1);
      expect(result.stderr).toContain("not-a-uuid");
      expect(result.stderr, describeResult(result)).not.toMatch(/Failed query|select /i);
    });
  });

  describe.concurrent("a sync in progress (parked in its git fetch)", () => {
    let dataDir: string;
    let repo: TestRepo;
    let bare: string;
    let syncedUrl = "";
    const servers: Awaited<ReturnType<typeof startGatedGitServer>>[] = [];

    /** A gated server for the bare repo, and a sync of it already parked in its first fetch. */
    async function parkedSync(syncDataDir: string, sourceName?: string) {
      const server = await startGatedGitServer(bare);
      servers.push(server);
      // The git server is on loopback, which the outbound URL policy refuses unless configured.
      const env = { OUTBOUND_ALLOW_HOSTS: "127.0.0.1" };
      if (sourceName) {
        const added = await runCli(
          ["sources", "add", server.url, "--name", sourceName, "--no-verify"],
          { dataDir: syncDataDir, env },
        );
        if (added.code !== 0) throw new Error(describeResult(added));
      }
      const sync = startCli(["sync", sourceName ?? server.url], { dataDir: syncDataDir, env });
      await Promise.race([
        server.firstRequest,
        sync.done.then((r) => {
          throw new Error(`sync ended before fetching:\n${describeResult(r)}`);
        }),
      ]);
      return { server, sync };
    }

    beforeAll(async () => {
      dataDir = await migratedDataDir("ballast-cli-lock-");
      repo = await namedRepo("harbour", {
        "README.md": "# Harbour\n\nShips, tides and the harbour master's ledger.\n",
        "src/tides.ts": "export const HIGH_TIDE_HOURS = [6, 18];\n",
      });
      bare = path.join(await makeTempDir("ballast-cli-bare-"), "harbour.git");
      await git(path.dirname(bare), ["clone", "-q", "--bare", repo.dir, bare]);
      await git(bare, ["update-server-info"]);
    });
    afterAll(async () => {
      for (const server of servers) server.release();
      await Promise.all(servers.map((server) => server.close()));
    });

    it.sequential("a second CLI process during a sync uses the database the sync serves", async ({
      expect,
    }) => {
      const { server, sync } = await parkedSync(dataDir);
      try {
        // The sync serves PGlite from its worker thread while it waits for the git server:
        // another CLI process connects through the socket instead of being refused.
        const second = await runCli(["sources", "list"], { dataDir });
        expect(second.code, describeResult(second)).toBe(0);
        expect(second.stderr).not.toContain("in use by another process");
      } finally {
        server.release();
      }
      const done: CliResult = await sync.done;
      expect(done.code, describeResult(done)).toBe(0);
      expect(keyValues(done.stdout).get("status")).toBe("succeeded");
      expect(keyValues(done.stdout).get("indexed")).toBe("2");

      syncedUrl = server.url;
    });

    it.sequential("a process holding the database in-process refuses a second one, naming its pid", async ({
      expect,
    }) => {
      const lockDir = await migratedDataDir("ballast-cli-held-");
      const holder = await openPglite(path.join(lockDir, "pglite"), path.resolve("db/migrations"), {
        serve: false,
      });
      try {
        const second = await runCli(["sources", "list"], { dataDir: lockDir });
        expect(second.code, describeResult(second)).toBe(1);
        expect(second.stderr).toContain("in use by another process");
        expect(second.stderr).toContain(`pid ${process.pid}`);
        expect(second.stdout).toBe("");
      } finally {
        await holder.close();
      }
    });

    it.sequential("afterwards the database is intact; a lock left by a dead process does not block", async ({
      expect,
    }) => {
      // As if the last process had been killed: its lock file stays, naming a pid now gone.
      await writeFile(path.join(dataDir, "pglite.lock"), String(await deadPid()));
      const after = await runCli(["sources", "list"], { dataDir });
      expect(after.code, describeResult(after)).toBe(0);
      expect(tableRecords(after.stdout)).toEqual([
        expect.objectContaining({
          name: "harbour",
          location: syncedUrl,
          "synced commit": (await repo.head()).slice(0, 12),
        }),
      ]);
    });

    it.sequential("Ctrl-C cancels the sync: exit 1, the run recorded as cancelled", async ({
      expect,
    }) => {
      const cancelDir = await migratedDataDir("ballast-cli-cancel-");
      // An existing source: the sync's only fetch is the plan's (a new location is checked first).
      const { server, sync } = await parkedSync(cancelDir, "harbour");
      try {
        sync.child.kill("SIGINT");
        await sync.waitForStderr(/cancelling/);
      } finally {
        server.release();
      }
      const done = await sync.done;
      expect(done.code, describeResult(done)).toBe(1);
      // The summary is read back from the database after the run ended.
      expect(keyValues(done.stdout).get("status"), describeResult(done)).toBe("cancelled");
    });
  });
});
