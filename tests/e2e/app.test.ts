import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildIsStale, nextBin, projectRoot, runNext } from "../../scripts/next-app";
import { createTestRepo, removeTempDirs } from "../support/git-repo";

/**
 * The production server as an operator runs it: `next build`, then `next start` on the
 * embedded defaults, driven over HTTP and in a real Chromium.
 */
const CHROMIUM = ["/usr/bin/chromium", "/usr/lib/chromium/chromium"];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

function baseEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = ["PATH", "HOME", "TMPDIR", "LANG"].flatMap((k) => {
    const value = process.env[k];
    return value === undefined ? [] : [[k, value]];
  });
  return {
    ...Object.fromEntries(inherited),
    BALLAST_DATA_DIR: dataDir,
    BALLAST_ENV: "development",
    NEXT_TELEMETRY_DISABLED: "1",
    ...extra,
  };
}

function cli(
  env: NodeJS.ProcessEnv,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--", path.join(projectRoot, "bin", "ballast.js"), ...args],
      {
        cwd: projectRoot,
        env,
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

function startServer(
  env: NodeJS.ProcessEnv,
  port: number,
): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [nextBin, "start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: projectRoot,
    env,
  });
  let output = "";
  child.stdout?.on("data", (d) => {
    output += d;
  });
  child.stderr?.on("data", (d) => {
    output += d;
  });
  return { child, output: () => output };
}

async function waitForLive(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 120; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/api/health?probe=live`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("server did not become live in 30 s");
}

describe("the app on the embedded defaults", () => {
  let dataDir: string;
  let server: ReturnType<typeof startServer> | undefined;
  let url: string;
  let browser: Browser | undefined;
  let key: string;

  beforeAll(async () => {
    if (buildIsStale()) expect(await runNext(["build"])).toBe(0);
    dataDir = await mkdtemp(path.join(tmpdir(), "ballast-e2e-"));
    const env = baseEnv(dataDir);
    const repo = await createTestRepo();
    await repo.writeMany({
      "README.md": "# Shipping\n\nHow the release pipeline publishes artifacts.\n",
      "src/verify.ts":
        "export function verifyWebhookSignature(secret: string, body: string) {\n  return hmac(secret, body);\n}\n",
    });
    await repo.commit("initial");
    const synced = await cli(env, "sync", repo.dir);
    expect(synced.code, synced.stderr).toBe(0);
    const created = await cli(env, "keys", "create", "--name", "e2e", "--role", "viewer");
    expect(created.code, created.stderr).toBe(0);
    key = /blst_[A-Za-z0-9_-]+/.exec(created.stdout)?.[0] ?? "";
    expect(key).not.toBe("");

    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = startServer(env, port);
    await waitForLive(url, server.child);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    server?.child.kill("SIGTERM");
    await rm(dataDir, { recursive: true, force: true });
    await removeTempDirs();
  });

  it("prints one start-up line per part and answers /api/health 200 with every part embedded", async () => {
    const response = await fetch(`${url}/api/health`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      status: string;
      parts: Record<string, { embedded: boolean; status: string }>;
    };
    expect(body.status).toBe("ok");
    for (const part of Object.values(body.parts))
      expect(part).toMatchObject({ embedded: true, status: "ok" });
    for (const part of ["database", "redis", "archive", "inngest", "embedding"])
      expect(server?.output()).toMatch(new RegExp(`ballast: ${part}: `));
  });

  it("serves search to a key holder only", async () => {
    expect((await fetch(`${url}/api/search?q=webhook`)).status).toBe(401);
    const empty = await fetch(`${url}/api/search?q=`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(empty.status).toBe(400);
    const response = await fetch(`${url}/api/search?q=verify%20webhook%20signature&k=3`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      results: { path: string; startLine: number; score: number }[];
    };
    expect(body.results[0]).toMatchObject({ path: "src/verify.ts", startLine: 1 });
  });

  it("serves the Inngest endpoint at both paths", async () => {
    for (const p of ["/api/inngest", "/inngest"]) {
      const response = await fetch(`${url}${p}`);
      expect(response.status).toBe(200);
      expect(((await response.json()) as { mode: string }).mode).toBe("dev");
    }
  });

  it("renders the home page in Chromium", async () => {
    const executablePath = CHROMIUM.find((p) => existsSync(p));
    expect(executablePath, "chromium is not installed (apt-get install chromium)").toBeDefined();
    browser = await chromium.launch({
      executablePath,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    const page = await browser.newPage();
    await page.goto(url);
    expect(await page.textContent("h1")).toBe("Ballast");
    await page.click("a[href='/api/health']");
    await page.waitForURL(/api\/health/);
    expect(await page.textContent("body")).toContain('"status":"ok"');
  });

  it("refuses to start with a production configuration that is missing its backends", async () => {
    const port = await freePort();
    const broken = startServer(baseEnv(dataDir, { BALLAST_ENV: "production" }), port);
    const code = await new Promise<number | null>((resolve) => broken.child.on("exit", resolve));
    expect(code).not.toBe(0);
    for (const variable of [
      "DATABASE_URL",
      "UPSTASH_REDIS_REST_URL",
      "S3_BUCKET",
      "INNGEST_SIGNING_KEY",
    ])
      expect(broken.output()).toContain(variable);
  }, 60_000);
});
