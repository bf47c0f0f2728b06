import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppServer,
  baseEnv,
  cli,
  ensureBuilt,
  freePort,
  startApp,
  startServer,
} from "../support/app-server";
import { launchBrowser } from "../support/browser";
import { createTestRepo, removeTempDirs } from "../support/git-repo";

/**
 * The production server as an operator runs it: `next build`, then `next start` on the
 * embedded defaults, driven over HTTP and in a real Chromium.
 */
describe("the app on the embedded defaults", () => {
  let dataDir: string;
  let server: AppServer | undefined;
  let url: string;
  let browser: Browser | undefined;
  let key: string;

  beforeAll(async () => {
    await ensureBuilt();
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

    server = await startApp(env);
    url = server.url;
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
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

  it("keeps the Inngest endpoint off at both paths without a signing key or INNGEST_DEV", async () => {
    for (const p of ["/api/inngest", "/inngest"]) {
      for (const method of ["GET", "POST", "PUT"]) {
        const response = await fetch(`${url}${p}`, { method });
        expect(response.status, `${method} ${p}`).toBe(503);
        const body = (await response.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe("endpoint_not_configured");
        expect(body.error.message).toMatch(/INNGEST_SIGNING_KEY.*INNGEST_DEV=1/);
      }
    }
  });

  it("renders the console's sign-in page in Chromium under the CSP, the stylesheet applied", async () => {
    browser = await launchBrowser();
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on("console", (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text()))
        violations.push(message.text());
    });
    const response = await page.goto(url);
    // The console needs a session: the home page sends a browser to sign in.
    expect(new URL(page.url()).pathname).toBe("/login");
    const csp = response?.headers()["content-security-policy"] ?? "";
    expect(csp).toMatch(/script-src 'self' 'nonce-[^']+' 'strict-dynamic'/);
    expect(csp).not.toContain("unsafe-inline");
    expect(await page.textContent("h1")).toBe("Sign in to the console");
    // Next's client runtime ran under the CSP (its scripts carry the nonce) and the stylesheet
    // applied: nothing was refused.
    await page.waitForFunction(() => "next" in window);
    expect(
      await page.evaluate(
        () => getComputedStyle(document.querySelector(".card") as Element).borderRadius,
      ),
    ).toBe("8px");
    expect(violations).toEqual([]);
    await page.goto(`${url}/api/health`);
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
