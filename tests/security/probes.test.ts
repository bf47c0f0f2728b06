import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../scripts/next-app";
import {
  type AppServer,
  baseEnv,
  cli,
  ensureBuilt,
  freePort,
  startServer,
  waitForLive,
} from "../support/app-server";
import { createTestRepo, removeTempDirs } from "../support/git-repo";

/**
 * Issue 6's probes, replayed against `next start` as an attacker on the same network would
 * send them: each must meet the fixed behaviour and store nothing. Two servers: the embedded
 * defaults (development, no Inngest keys), and one with a signing key in test mode (cloud
 * mode, HSTS on).
 */
interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): unknown;
}

/** Every body a probe got back, checked at the end for leaks. */
const bodies: string[] = [];

function send(
  base: string,
  method: string,
  pathname: string,
  options: {
    headers?: Record<string, string>;
    body?: string;
    localAddress?: string;
    chunkedEmpty?: boolean;
  } = {},
): Promise<Answer> {
  const url = new URL(pathname, base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method,
        headers: options.headers,
        localAddress: options.localAddress,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => {
          text += d;
        });
        res.on("end", () => {
          bodies.push(text);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: () => JSON.parse(text),
          });
        });
      },
    );
    req.on("error", reject);
    if (options.chunkedEmpty) {
      req.setHeader("transfer-encoding", "chunked");
      req.flushHeaders();
    }
    req.end(options.body);
  });
}

const json = (key: string) => ({
  authorization: `Bearer ${key}`,
  "content-type": "application/json",
});

describe("the probes of issue 6, against next start", () => {
  let dataDir: string;
  let signedDataDir: string;
  let app: AppServer;
  let signed: AppServer;
  const keys: Record<string, string> = {};
  let upProcess: ChildProcess | undefined;

  beforeAll(async () => {
    await ensureBuilt();
    dataDir = await mkdtemp(path.join(tmpdir(), "ballast-probes-"));
    signedDataDir = await mkdtemp(path.join(tmpdir(), "ballast-probes-signed-"));
    const env = baseEnv(dataDir);
    const repo = await createTestRepo();
    await repo.writeMany({ "README.md": "# Probe target\n\nIndexed before the probes.\n" });
    await repo.commit("initial");
    const synced = await cli(env, "sync", repo.dir);
    expect(synced.code, synced.stderr).toBe(0);
    for (const role of ["viewer", "operator", "admin"]) {
      const created = await cli(env, "keys", "create", "--name", `probe-${role}`, "--role", role);
      expect(created.code, created.stderr).toBe(0);
      keys[role] = /blst_[A-Za-z0-9_-]+/.exec(created.stdout)?.[0] ?? "";
    }
    const [port, signedPort] = [await freePort(), await freePort()];
    app = startServer(env, port);
    signed = startServer(
      baseEnv(signedDataDir, {
        BALLAST_ENV: "test",
        INNGEST_SIGNING_KEY: "signkey-test-00112233445566778899aabbccddeeff",
        INNGEST_EVENT_KEY: "probe-event-key-0001",
      }),
      signedPort,
    );
    await Promise.all([waitForLive(app.url, app.child), waitForLive(signed.url, signed.child)]);
  }, 300_000);

  afterAll(async () => {
    upProcess?.kill("SIGTERM");
    await Promise.all([app?.stop(), signed?.stop()]);
    await rm(dataDir, { recursive: true, force: true });
    await rm(signedDataDir, { recursive: true, force: true });
    await removeTempDirs();
  });

  async function sourceNames(): Promise<string[]> {
    const list = await send(app.url, "GET", "/api/admin/sources", {
      headers: json(keys.viewer ?? ""),
    });
    expect(list.status).toBe(200);
    return (list.json() as { sources: { name: string }[] }).sources.map((s) => s.name).sort();
  }

  async function runCount(): Promise<number> {
    const runs = await send(app.url, "GET", "/api/admin/runs?limit=200", {
      headers: json(keys.operator ?? ""),
    });
    expect(runs.status).toBe(200);
    return (runs.json() as { runs: unknown[] }).runs.length;
  }

  async function addSource(body: unknown): Promise<Answer> {
    return send(app.url, "POST", "/api/admin/sources", {
      headers: json(keys.admin ?? ""),
      body: JSON.stringify(body),
    });
  }

  it("1. runs no function step for an unsigned caller, and answers without detail", async () => {
    const before = { sources: await sourceNames(), runs: await runCount() };
    const handWritten = JSON.stringify({
      event: { name: "source/sync.requested", data: { sourceId: "x", mode: "full" } },
      events: [],
      steps: {},
      ctx: { run_id: "r", attempt: 0 },
      version: 1,
    });
    for (const fnId of ["ballast-sync-source", "ballast-process-batch"]) {
      const off = await send(app.url, "POST", `/api/inngest?fnId=${fnId}&stepId=step`, {
        headers: { "content-type": "application/json" },
        body: handWritten,
      });
      expect(off.status).toBe(503); // no signing key and no INNGEST_DEV: the endpoint is off
      const unsigned = await send(signed.url, "POST", `/api/inngest?fnId=${fnId}&stepId=step`, {
        headers: { "content-type": "application/json" },
        body: handWritten,
      });
      expect(unsigned.status).toBe(401);
    }
    // Unsigned syncs are refused; a malformed Host gets a generic error, not a stack trace.
    expect((await send(signed.url, "PUT", "/api/inngest")).status).toBe(401);
    expect((await send(signed.url, "GET", "/api/inngest")).status).toBe(401);
    const badHost = await send(signed.url, "PUT", "/api/inngest", { headers: { host: "[::1" } });
    expect(badHost.status).toBe(500);
    expect(badHost.json()).toEqual({
      error: { code: "internal_error", message: "internal error" },
    });
    expect({ sources: await sourceNames(), runs: await runCount() }).toEqual(before);
  });

  it("1. npm run up listens on 127.0.0.1 only", async () => {
    const repo = await createTestRepo();
    await repo.writeMany({ "notes.md": "# Up\n\nA tiny repository for npm run up.\n" });
    await repo.commit("initial");
    const upDir = await mkdtemp(path.join(tmpdir(), "ballast-probes-up-"));
    const port = await freePort();
    const up = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(projectRoot, "scripts", "up.ts"),
        "--source",
        repo.dir,
        "--port",
        String(port),
      ],
      { cwd: projectRoot, env: { ...baseEnv(upDir), PORT: String(port) } },
    );
    upProcess = up;
    let output = "";
    up.stdout?.on("data", (d) => {
      output += d;
    });
    up.stderr?.on("data", (d) => {
      output += d;
    });
    try {
      await waitForLive(`http://127.0.0.1:${port}`, up).catch((error: Error) => {
        throw new Error(`${error.message}\n${output}`);
      });
      // Bound to 127.0.0.1 exactly: another loopback address (as any other interface) is refused.
      const elsewhere = await send(
        `http://127.0.0.2:${port}`,
        "GET",
        "/api/health?probe=live",
      ).then(
        (a) => `answered ${a.status}`,
        (e: NodeJS.ErrnoException) => e.code,
      );
      expect(elsewhere).toBe("ECONNREFUSED");
    } finally {
      const exited = new Promise((resolve) => up.once("exit", resolve));
      up.kill("SIGTERM");
      await exited;
      upProcess = undefined;
      await rm(upDir, { recursive: true, force: true });
    }
  }, 180_000);

  it("2-5, 7, 8. refuses server paths, private targets, credentials, hostile globs and huge sizes, storing nothing", async () => {
    const before = await sourceNames();
    const refused: [unknown, RegExp][] = [
      [{ location: "/etc" }, /SOURCE_LOCAL_ROOTS/],
      [{ location: "file:///etc/" }, /SOURCE_LOCAL_ROOTS/],
      [{ location: "../../../etc" }, /SOURCE_LOCAL_ROOTS/],
      [{ location: `${dataDir}/../../../etc` }, /SOURCE_LOCAL_ROOTS/],
      [{ location: "http://127.0.0.1:9/repo.git" }, /loopback/],
      [{ location: "http://169.254.169.254/latest/meta-data/" }, /link-local/],
      [{ location: "http://[::ffff:127.0.0.1]/repo.git" }, /loopback/],
      [{ location: "http://2130706433/repo.git" }, /loopback/],
      [{ location: "http://localhost/repo.git" }, /loopback/],
      [{ location: "https://user:s3cret-token@git.example.com/o/r.git" }, /credentials/],
      [{ location: "github:octo/globs", include: ["*a".repeat(21)] }, /more than 20 wildcards/],
      [{ location: "github:octo/big", maxFileBytes: 9e15 }, /1 to 1073741824/],
      [{ location: "github:octo/small", maxFileBytes: 0 }, /from 1 to 1073741824/],
    ];
    for (const [body, message] of refused) {
      const answer = await addSource(body);
      expect(answer.status, JSON.stringify(body)).toBe(422);
      expect(answer.text, JSON.stringify(body)).toMatch(message);
      expect(answer.text).not.toContain("s3cret-token");
    }
    expect(await sourceNames()).toEqual(before);

    // Stored normalised, as the CLI would: github:o/r is o/r, and a trailing newline is gone.
    const plain = await addSource({ location: "github:octo/probe" });
    expect(plain.status).toBe(201);
    expect((plain.json() as { source: { location: string } }).source.location).toBe("octo/probe");
    const newline = await addSource({ location: "github:octo/probe-two\n", name: "probe-two" });
    expect(newline.status).toBe(201);
    expect((newline.json() as { source: { location: string } }).source.location).toBe(
      "octo/probe-two",
    );
    // The glob is within the bounds and accepted: it is matched in linear time.
    const glob = await addSource({
      location: "github:octo/globs",
      include: ["*a*a*a*a*a*a*a*a*a*a*a*z"],
    });
    expect(glob.status).toBe(201);
    const list = await send(app.url, "GET", "/api/admin/sources", {
      headers: json(keys.viewer ?? ""),
    });
    const locations = (list.json() as { sources: { location: string }[] }).sources.map(
      (s) => s.location,
    );
    expect(locations).toEqual(
      expect.arrayContaining(["octo/probe", "octo/probe-two", "octo/globs"]),
    );
  });

  it("6. a forged X-Forwarded-For does not escape the failed-auth limit, and denials are aggregated", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 36; i++) {
      const answer = await send(app.url, "GET", "/api/admin/config", {
        localAddress: "127.0.0.3",
        headers: {
          authorization: "Bearer blst_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
          "x-forwarded-for": `198.51.100.${i}`,
          "x-real-ip": `198.51.100.${i}`,
          "x-ballast-peer": `192.0.2.${i}`,
        },
      });
      statuses.push(answer.status);
    }
    // 30 failures a minute per client (a sliding window: a minute boundary can move the exact
    // turning point a little), then 429 — whatever the forged headers say.
    expect(
      statuses.slice(0, 20).every((s) => s === 401),
      statuses.join(),
    ).toBe(true);
    expect(
      statuses.slice(-5).every((s) => s === 429),
      statuses.join(),
    ).toBe(true);
    expect(
      statuses.every((s) => s === 401 || s === 429),
      statuses.join(),
    ).toBe(true);
    // Another client is not affected.
    const other = await send(app.url, "GET", "/api/admin/config", {
      localAddress: "127.0.0.4",
      headers: { authorization: "Bearer wrong" },
    });
    expect(other.status).toBe(401);
    const audit = await send(app.url, "GET", "/api/admin/audit?limit=500", {
      headers: json(keys.admin ?? ""),
    });
    const rows = (
      audit.json() as {
        entries: { actor: string; status: number; details: { client?: string; count?: number } }[];
      }
    ).entries.filter((e) => e.actor === "anonymous" && e.details.client === "127.0.0.3");
    expect(rows.length).toBeGreaterThanOrEqual(2); // one for the 401s, one for the 429s
    expect(rows.length).toBeLessThanOrEqual(4); // a minute boundary may split each in two
    expect(Math.max(...rows.map((r) => r.details.count ?? 0))).toBeGreaterThanOrEqual(8);
  });

  it("10. accepts a sync request with no body, an empty JSON body and an empty chunked body", async () => {
    const names = ["probe-sync-a", "probe-sync-b", "probe-sync-c"];
    for (const name of names)
      expect((await addSource({ location: `github:octo/${name}`, name })).status).toBe(201);
    const operator = { authorization: `Bearer ${keys.operator}` };
    const noBody = await send(app.url, "POST", `/api/admin/sources/${names[0]}/sync`, {
      headers: operator,
    });
    const emptyJson = await send(app.url, "POST", `/api/admin/sources/${names[1]}/sync`, {
      headers: { ...operator, "content-type": "application/json" },
    });
    const chunked = await send(app.url, "POST", `/api/admin/sources/${names[2]}/sync`, {
      headers: { ...operator, "content-type": "application/json" },
      chunkedEmpty: true,
    });
    for (const answer of [noBody, emptyJson, chunked]) {
      expect(answer.status, answer.text).toBe(202);
      expect((answer.json() as { run: { requestedMode: string } }).run.requestedMode).toBe(
        "incremental",
      );
    }
  });

  it("sets the security headers on every response; HSTS outside development", async () => {
    const probes: [AppServer, string, string][] = [
      [app, "GET", "/"],
      [app, "GET", "/api/health"],
      [app, "GET", "/api/admin/config"],
      [app, "GET", "/no-such-page"],
      [app, "POST", "/api/inngest"],
      [app, "POST", "/api/webhooks/github"],
      [signed, "GET", "/"],
      [signed, "PUT", "/api/inngest"],
    ];
    for (const [server, method, pathname] of probes) {
      const answer = await send(server.url, method, pathname, { localAddress: "127.0.0.5" });
      const what = `${method} ${pathname} on ${server === app ? "development" : "test"}`;
      const csp = String(answer.headers["content-security-policy"] ?? "");
      expect(csp, what).toContain("frame-ancestors 'none'");
      expect(csp, what).not.toContain("unsafe-inline");
      expect(answer.headers["x-content-type-options"], what).toBe("nosniff");
      expect(answer.headers["referrer-policy"], what).toBe("same-origin");
      expect(answer.headers["x-frame-options"], what).toBe("DENY");
      if (server === app) expect(answer.headers["strict-transport-security"], what).toBeUndefined();
      else expect(answer.headers["strict-transport-security"], what).toMatch(/max-age=\d+/);
    }
  });

  it("shows no path or host name in /api/health to an anonymous caller; a viewer key sees the details", async () => {
    const anonymous = await send(app.url, "GET", "/api/health");
    expect(anonymous.status).toBe(200);
    expect(anonymous.text).not.toContain(dataDir);
    expect(anonymous.text).not.toContain(hostname());
    expect(anonymous.text).not.toContain('"detail"');
    const detailed = await send(app.url, "GET", "/api/health", {
      headers: { authorization: `Bearer ${keys.viewer}` },
    });
    expect(detailed.status).toBe(200);
    expect(detailed.text).toContain(dataDir);
    expect((await send(app.url, "GET", "/api/health?probe=live")).status).toBe(200);
  });

  it("never answered with SQL, a stack trace or an internal path", () => {
    expect(bodies.length).toBeGreaterThan(50);
    for (const body of bodies.filter((b) => !b.includes(dataDir) || b.includes('"error"'))) {
      expect(body).not.toMatch(/"stack"|\n\s+at |\bselect\b.*\bfrom\b|insert into|syntax error/i);
      expect(body).not.toContain(projectRoot);
      expect(body).not.toContain(signedDataDir);
    }
  });
});
