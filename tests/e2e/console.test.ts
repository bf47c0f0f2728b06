import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { sql } from "drizzle-orm";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, rowsOf } from "../../db/client";
import { createApiKey, listApiKeys, revokeApiKey } from "../../lib/auth/api-keys";
import { listAudit } from "../../lib/auth/audit";
import { loadConfig } from "../../lib/config";
import { getSource, listSources } from "../../lib/pipeline/source-records";
import { dlqDepth, getDeadLetter, recordEventFailure } from "../../lib/recovery/dlq";
import {
  type CleanupPlan,
  getCleanupRun,
  setCleanupStatus,
  startCleanupRun,
} from "../../lib/retention/cleanup";
import { SYNC_REQUESTED } from "../../lib/workflows/events";
import { projectRoot } from "../../scripts/next-app";
import { type HttpReceiver, startHttpReceiver } from "../support/alert-receivers";
import { type AppServer, baseEnv, startApp } from "../support/app-server";
import { launchBrowser } from "../support/browser";
import { type FakeGitHubOAuth, startFakeGitHubOAuth } from "../support/fake-github-oauth";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fake-openai";
import { git, makeTempDir, removeTempDirs, TestRepo } from "../support/git-repo";

/**
 * The operator's console in headless Chromium against `next start` on the embedded defaults:
 * sign in with a key, add a local git source (with a preview of its globs), sync it and watch
 * its progress arrive live, search, roles, an expired session, CSRF and cookie flags, GitHub
 * sign-in against a loopback OAuth provider (on another site: localhost vs 127.0.0.1), sign
 * out; axe-core on every page; screenshots of every page, light and dark, laptop and phone,
 * written to screenshots/console/ (`npm run screenshots` regenerates them).
 */
const SHOTS = path.join(projectRoot, "screenshots", "console");
const FILES = 600;

describe("the console in a browser", () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let server: AppServer | undefined;
  let url: string;
  let browser: Browser;
  let github: FakeGitHubOAuth;
  /** The embedding provider, on loopback: it can go down to open the app's breaker. */
  let openai: FakeOpenAI;
  /** The live webhook channel's receiver. */
  let hook: HttpReceiver;
  let repo: TestRepo;
  const keys: Record<string, string> = {};
  const cspViolations: string[] = [];
  let runId = "";

  async function newContext(
    options: { colorScheme?: "light" | "dark"; viewport?: { width: number; height: number } } = {},
  ) {
    const context = await browser.newContext({
      colorScheme: options.colorScheme ?? "light",
      viewport: options.viewport ?? { width: 1280, height: 900 },
    });
    context.on("page", (page) => watch(page));
    return context;
  }
  function watch(page: Page) {
    page.on("console", (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text()))
        cspViolations.push(`${page.url()}: ${message.text()}`);
    });
  }
  /** Session cookies of keys already signed in through the login form, reused by later tests. */
  const sessions = new Map<string, Awaited<ReturnType<BrowserContext["cookies"]>>>();
  /**
   * A page signed in with `key` at `next`: through the login form the first time a key is
   * used (or with `fresh`), later with that session's cookie (one navigation instead of three).
   */
  async function signIn(
    context: BrowserContext,
    key: string,
    next?: string,
    options: { fresh?: boolean } = {},
  ): Promise<Page> {
    const page = await context.newPage();
    const cached = options.fresh ? undefined : sessions.get(key);
    if (cached) {
      await context.addCookies(cached);
      await page.goto(`${url}${next ?? "/"}`);
      return page;
    }
    await page.goto(`${url}/login${next ? `?next=${encodeURIComponent(next)}` : ""}`);
    await page.getByLabel("API key").fill(key);
    await page.getByRole("button", { name: "Sign in with key" }).click();
    await page.waitForURL((u) => !u.pathname.startsWith("/login"));
    if (!options.fresh)
      sessions.set(
        key,
        (await context.cookies()).filter((c) => c.name === "ballast_session"),
      );
    return page;
  }

  /** The app's database, through the socket the running app serves it on (as the CLI does). */
  async function withDb<T>(
    run: (db: Awaited<ReturnType<typeof openDatabase>>["db"]) => Promise<T>,
  ): Promise<T> {
    const handle = await openDatabase(loadConfig(env).database, { migrate: false });
    try {
      return await run(handle.db);
    } finally {
      await handle.close();
    }
  }

  /** A sync request of the handbook that failed with a 503 from GitHub: a pending dead letter. */
  const failedSync = (id: string, message: string) =>
    withDb(async (db) => {
      const source = await getSource(db, "handbook");
      return recordEventFailure(db, {
        functionId: "sync-source",
        event: {
          id,
          name: SYNC_REQUESTED,
          data: {
            sourceId: source.id,
            mode: "incremental",
            trigger: "manual",
            requestedBy: "console-e2e",
            dedupeKey: id,
          },
        },
        errorClass: "dependency_unavailable",
        message,
        dependency: "github",
        sourceId: source.id,
      });
    });
  const sourceNames = () => withDb(async (db) => (await listSources(db)).map((s) => s.name));
  const keyNames = () => withDb(async (db) => (await listApiKeys(db)).map((k) => k.name));

  /**
   * Clicks `submit` and captures the server-action request it sends (aborted, so nothing
   * runs), to replay it later from another session.
   */
  async function captureAction(page: Page, pathGlob: string, submit: () => Promise<void>) {
    let captured: { url: string; headers: Record<string, string>; body: Buffer } | undefined;
    await page.route(pathGlob, async (route) => {
      const request = route.request();
      if (request.method() !== "POST") return route.continue();
      captured = {
        url: request.url(),
        headers: await request.allHeaders(),
        body: request.postDataBuffer() ?? Buffer.alloc(0),
      };
      await route.abort();
    });
    await submit();
    await expect.poll(() => captured !== undefined).toBe(true);
    await page.unroute(pathGlob);
    const request = captured as NonNullable<typeof captured>;
    /** The same request under another context's session cookie. */
    return (context: BrowserContext) => {
      const { host: _h, "content-length": _l, cookie: _c, ...rest } = request.headers;
      return context.request.fetch(request.url, {
        method: "POST",
        headers: rest,
        data: request.body,
        maxRedirects: 0,
      });
    };
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "ballast-console-"));
    const root = await makeTempDir("ballast-roots-");
    const dir = path.join(root, "handbook");
    await mkdir(dir);
    await git(dir, ["init", "-q", "--initial-branch=main"]);
    repo = new TestRepo(dir, "main");
    const files: Record<string, string> = {
      "README.md": "# Harbour handbook\n\nThe harbour master keeps a tide ledger of every ship.\n",
      "src/ledger.ts":
        'export function recordTide(ledger: string[], height: number) {\n  ledger.push("tide " + height);\n}\n',
    };
    for (let i = 0; i < FILES; i++)
      files[`docs/chapter-${String(i).padStart(4, "0")}.md`] =
        `# Chapter ${i}\n\nNotes on berth ${i}: moorings, pilots and the schedule of vessel ${i * 7}.\n`;
    await repo.writeMany(files);
    await repo.commit("handbook");
    github = await startFakeGitHubOAuth({ host: "localhost" });
    openai = await startFakeOpenAI({ apiKey: "sk-console-e2e-0123456789" });
    hook = await startHttpReceiver();
    env = baseEnv(dataDir, {
      SOURCE_LOCAL_ROOTS: root,
      SYNC_BATCH_SIZE: "25",
      GITHUB_OAUTH_CLIENT_ID: github.clientId,
      GITHUB_OAUTH_CLIENT_SECRET: github.clientSecret,
      GITHUB_OAUTH_URL: github.url,
      GITHUB_API_URL: github.url,
      GITHUB_SIGNIN_ADMINS: "user:boss",
      GITHUB_SIGNIN_OPERATORS: "org:acme",
      // Embeddings from a loopback OpenAI (everything else on the embedded defaults), so that
      // the provider can fail and open the app's breaker through the real path.
      EMBEDDING_PROVIDER: "openai",
      EMBEDDING_DIMENSIONS: "256",
      OPENAI_API_KEY: "sk-console-e2e-0123456789",
      OPENAI_BASE_URL: openai.baseUrl,
      // An open breaker stays open (no probe) until an admin resets it.
      BREAKER_OPEN_MS: "600000",
      // Two notification channels: Slack log-only (the fire test records, sends nothing) and a
      // live webhook to a loopback receiver.
      ALERT_SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T0/B0/console-e2e",
      ALERT_SLACK_MODE: "log-only",
      ALERT_WEBHOOK_URL: `${hook.url}/ballast`,
      ALERT_WEBHOOK_SECRET: "console-e2e-webhook-secret",
      ALERT_WEBHOOK_MODE: "live",
      OUTBOUND_ALLOW_HOSTS: "127.0.0.1",
    });
    // The keys, straight into the database before the app starts (the CLI's `keys create` is
    // tested with the CLI; a process per key cost seconds each on a loaded machine).
    const setup = await openDatabase(loadConfig(env).database);
    try {
      for (const [name, role] of [
        ["admin", "admin"],
        ["operator", "operator"],
        ["viewer", "viewer"],
        ["expiring", "operator"],
      ] as const)
        keys[name] = (
          await createApiKey(setup.db, { name: `${name}-key`, role, createdBy: "console-e2e" })
        ).key;
    } finally {
      await setup.close();
    }
    server = await startApp(env);
    url = server.url;
    browser = await launchBrowser();
    if (process.env.CONSOLE_SCREENSHOTS === "1") {
      await rm(SHOTS, { recursive: true, force: true });
      await mkdir(SHOTS, { recursive: true });
    }
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await github?.close();
    await openai?.close();
    await hook?.close();
    await rm(dataDir, { recursive: true, force: true });
    await removeTempDirs();
  });

  it("signs in with a key into an HttpOnly, SameSite=Strict session cookie with an expiry, and back where it was asked", async () => {
    const context = await newContext();
    const page = await context.newPage();
    const first = await page.goto(`${url}/sources`);
    expect(new URL(page.url()).pathname).toBe("/login");
    expect(new URL(page.url()).searchParams.get("next")).toBe("/sources");
    expect(first?.headers()["content-security-policy"]).toMatch(
      /script-src 'self' 'nonce-[^']+' 'strict-dynamic'/,
    );
    await page.getByLabel("API key").fill("blst_wrong");
    await page.getByRole("button", { name: "Sign in with key" }).click();
    await page.waitForURL(/error=invalid/);
    await expect.poll(() => page.locator("#key-error").textContent()).toMatch(/not valid/);
    expect(await page.getByLabel("API key").getAttribute("aria-invalid")).toBe("true");
    await page.getByLabel("API key").fill(keys.admin ?? "");
    await page.getByRole("button", { name: "Sign in with key" }).click();
    await page.waitForURL(`${url}/sources`);
    expect(await page.textContent("h1")).toBe("Sources");
    const [cookie] = (await context.cookies()).filter((c) => c.name === "ballast_session");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", secure: false, path: "/" });
    expect((cookie?.expires ?? 0) * 1000 - Date.now()).toBeGreaterThan(11 * 3600_000);
    expect(await page.evaluate(() => document.cookie)).not.toContain("ballast_session");
    await context.close();
  });

  it("adds a local git source: errors beside their fields, a preview of what the globs match, then the source", async () => {
    const context = await newContext();
    const page = await signIn(context, keys.admin ?? "", "/sources/new");
    expect(await page.textContent("h1")).toBe("Add a source");
    // Bad input: nothing is stored, each error beside its field.
    await page.getByLabel("Repository").fill("/etc");
    await page.getByLabel("Largest file (bytes)").fill("lots");
    await page.getByRole("button", { name: "Add source" }).click();
    await expect
      .poll(() => page.locator("#field-maxFileBytes-error").textContent())
      .toMatch(/whole number/);
    await page.getByLabel("Largest file (bytes)").fill("");
    await page.getByRole("button", { name: "Add source" }).click();
    await expect
      .poll(() => page.locator("#field-location-error").textContent())
      .toMatch(/SOURCE_LOCAL_ROOTS|outside|not under/i);
    expect(await sourceNames()).not.toContain("handbook");
    // Preview: the repository's files through the source reader and the path filter.
    await page.getByLabel("Repository").fill(repo.dir);
    await page.getByLabel("Include globs").fill("docs/chapter-00*.md\nREADME.md\nsrc/**");
    await page.getByRole("button", { name: "Preview matches" }).click();
    await expect
      .poll(() => page.getByTestId("preview-matched").textContent(), { timeout: 30_000 })
      .toBe("102");
    expect(await page.getByRole("list", { name: "Matching files" }).textContent()).toContain(
      "src/ledger.ts",
    );
    await screenshotAll(context, [["sources-new-preview", page.url()]], { reuse: page });
    // Add it with every file (the globs cleared).
    await page.getByLabel("Include globs").fill("");
    await page.getByRole("button", { name: "Add source" }).click();
    await page.waitForURL(`${url}/sources/handbook?added=1`);
    expect(await page.textContent("h1")).toBe("handbook");
    await context.close();
  });

  it("starts a sync and shows its progress as it arrives (Server-Sent Events), then the final counts", async () => {
    const context = await newContext();
    const page = await signIn(context, keys.operator ?? "", "/sources/handbook");
    await page.getByRole("button", { name: "Sync changes" }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    runId = page.url().split("/").pop() ?? "";
    const seen = new Set<string>();
    const states = new Set<string>();
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const done = await page
        .getByTestId("live-done")
        .textContent({ timeout: 1000 })
        .catch(() => null);
      const state = await page
        .getByTestId("live-state")
        .textContent({ timeout: 1000 })
        .catch(() => null);
      if (done) seen.add(done);
      if (state) states.add(state);
      if ((await page.locator("header .badge").textContent())?.includes("succeeded")) break;
      await page.waitForTimeout(100);
    }
    expect(await page.locator("header .badge").textContent()).toBe("succeeded");
    const total = FILES + 2;
    const intermediate = [...seen].filter((text) => {
      const [done, planned] = text.split("/").map((n) => Number(n.trim()));
      return planned === total && (done ?? 0) > 0 && (done ?? 0) < total;
    });
    expect(intermediate.length, `progress seen: ${[...seen].join(", ")}`).toBeGreaterThan(0);
    expect([...states]).toContain("● Live");
    // The final render is the server's: counts and no failures.
    await expect
      .poll(() => page.locator("#failures-title").textContent())
      .toMatch(/Failed documents \(0\)/);
    expect(await page.getByText("No document failed.").count()).toBe(1);
    await context.close();
  }, 150_000);

  it("searches with highlighted snippets and why each result matched", async () => {
    const context = await newContext();
    const page = await signIn(context, keys.viewer ?? "", "/search");
    await page.getByLabel("Query").fill("tide ledger");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/q=tide\+ledger/);
    const first = page.getByTestId("search-result").first();
    expect(await first.textContent()).toMatch(/README\.md|src\/ledger\.ts/);
    expect(await first.locator("mark").allTextContents()).toEqual(
      expect.arrayContaining([expect.stringMatching(/^(tide|ledger)$/i)]),
    );
    const why = first.getByTestId("why");
    await why.locator("summary").click();
    expect(await why.textContent()).toMatch(/score \d\.\d{3} · lexical #\d+/);
    expect(await why.getByRole("list", { name: "Matched terms" }).textContent()).toMatch(
      /(tide|ledger) \+\d+\.\d{2}/,
    );
    await context.close();
  });

  it("shows a run's trace timeline on its page, and filters traces by run, function and status, a page at a time", async () => {
    const context = await newContext();
    const page = await signIn(context, keys.operator ?? "", `/runs/${runId}`);
    expect(await page.locator("#timeline-title").textContent()).toMatch(/Trace timeline \(\d+/);
    const spans = await page.getByTestId("trace-span").count();
    expect(spans).toBeGreaterThan(0);
    expect(await page.getByTestId("trace-span").first().textContent()).toMatch(/\+\d/);
    await page.getByRole("link", { name: "Search its traces" }).click();
    await page.waitForURL(`${url}/traces?run=${runId}`);
    expect(await page.getByLabel("Run id").inputValue()).toBe(runId);
    expect(await page.getByTestId("trace-span").count()).toBeGreaterThan(0);
    await page.getByLabel("Status").selectOption("ok");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/status=ok/);
    expect(await page.getByTestId("trace-span").count()).toBeGreaterThan(0);
    await page.goto(`${url}/traces?function=no-such-workflow`);
    expect(await page.getByText("No span matches").count()).toBe(1);
    // Bad input: the error beside its field, nothing listed.
    await page.goto(`${url}/traces?run=not-a-run`);
    expect(await page.locator("#trace-run-error").textContent()).toBeTruthy();
    expect(await page.getByLabel("Run id").getAttribute("aria-invalid")).toBe("true");
    await page.goto(`${url}/traces?cursor=${encodeURIComponent("bm90LWEtY3Vyc29y")}`);
    expect(await page.locator("p.notice-error").textContent()).toMatch(/cursor/);
    await context.close();
  });

  it("retries a dead-letter entry from the queue page; a discard needs a reason; a viewer cannot open it", async () => {
    const entry = await failedSync("console-e2e-failed-sync", "github answered 503 three times");
    const context = await newContext();
    const page = await signIn(context, keys.operator ?? "", "/dlq");
    expect(await page.textContent("h1")).toBe("Dead-letter queue");
    const row = page.getByTestId("dlq-entry").filter({ hasText: SYNC_REQUESTED });
    expect(await row.textContent()).toMatch(/dependency_unavailable.*github answered 503/);
    expect(await row.textContent()).toMatch(/source handbook/);
    // Discard without a reason: refused beside the field, the entry untouched.
    await row.locator("summary").click();
    await row.getByRole("button", { name: "Discard entry" }).click();
    await expect
      .poll(() => row.locator(".field-error").textContent())
      .toMatch(/say why it can be given up/);
    expect((await withDb((db) => getDeadLetter(db, entry.id))).entry.status).toBe("pending");
    // Retry: released now, the re-drive recorded with the operator's name.
    await row.getByRole("button", { name: /^Retry/ }).click();
    await page.waitForURL(`${url}/dlq?retried=1`);
    expect(await page.getByRole("status").textContent()).toMatch(/released for a retry/);
    const after = await withDb((db) => getDeadLetter(db, entry.id));
    expect(after.entry.status).not.toBe("pending");
    expect(after.entry.recoveries).toBe(1);
    expect(after.attempts.map((a) => [a.action, a.actor])).toContainEqual([
      "retry",
      "operator-key",
    ]);
    await context.close();
    const viewer = await newContext();
    const v = await signIn(viewer, keys.viewer ?? "");
    expect((await v.goto(`${url}/dlq`))?.status()).toBe(403);
    await viewer.close();
  });

  it("retries every open dead-letter entry at once: a viewer's replay of it is refused, the operator's releases them all", async () => {
    const entries = [
      await failedSync("console-e2e-retry-all-1", "github answered 503 (retry-all 1)"),
      await failedSync("console-e2e-retry-all-2", "github answered 503 (retry-all 2)"),
    ];
    const open = await withDb(async (db) => {
      const depth = await dlqDepth(db);
      return depth.pending + depth.parked;
    });
    expect(open).toBeGreaterThanOrEqual(2);
    const context = await newContext();
    const page = await signIn(context, keys.operator ?? "", "/dlq");
    const retryAll = page.getByRole("button", { name: `Retry all (${open})` });
    // The same request under a viewer's session: refused, nothing released.
    const replay = await captureAction(page, "**/dlq", () => retryAll.click());
    const viewer = await newContext();
    await signIn(viewer, keys.viewer ?? "");
    expect(await (await replay(viewer)).text()).toMatch(/"status":403/);
    await viewer.close();
    for (const e of entries)
      expect((await withDb((db) => getDeadLetter(db, e.id))).entry.status).toBe("pending");
    // The operator's click releases every open entry, each re-drive recorded with their name.
    await page.reload();
    await retryAll.click();
    await page.waitForURL(`${url}/dlq?retried=${open}`);
    expect(await page.getByRole("status").textContent()).toMatch(
      new RegExp(`${open} entries released for a retry`),
    );
    for (const e of entries) {
      const after = await withDb((db) => getDeadLetter(db, e.id));
      expect(after.entry.status).not.toBe("pending");
      expect(after.entry.recoveries).toBe(1);
      expect(after.attempts.map((a) => [a.action, a.actor])).toContainEqual([
        "retry",
        "operator-key",
      ]);
    }
    expect(
      await withDb(async (db) => (await dlqDepth(db)).pending + (await dlqDepth(db)).parked),
    ).toBe(0);
    const audit = await withDb((db) => listAudit(db, { limit: 20 }));
    expect(
      audit.filter((a) => a.action === "dlq.retry-all").map((a) => [a.actor, a.result]),
    ).toEqual([
      ["operator-key", "ok"],
      ["viewer-key", "denied"],
    ]);
    await context.close();
  });

  it("pages the queue 50 entries at a time, older and newer; a forged cursor shows the first page", async () => {
    await withDb((db) =>
      db.execute(sql`
        insert into dead_letters (kind, key, path, error_class, message, status, last_seen_at, resolved_at, resolution)
        select 'document', 'document:e2e:paged-' || g || '.md', 'paged-' || g || '.md', 'internal',
          'paged entry ' || g, 'discarded', now() - g * interval '1 minute', now(), 'e2e paging'
        from generate_series(1, 60) g`),
    );
    const total = await withDb(
      async (db) =>
        rowsOf<{ n: number }>(
          await db.execute(
            sql`select count(*)::int as n from dead_letters where status = 'discarded'`,
          ),
        )[0]?.n ?? 0,
    );
    expect(total).toBeGreaterThanOrEqual(60);
    expect(total).toBeLessThanOrEqual(100);
    const context = await newContext();
    const page = await signIn(context, keys.operator ?? "", "/dlq?status=discarded");
    const rows = page.getByTestId("dlq-entry");
    expect(await rows.count()).toBe(50);
    expect(await page.getByRole("heading", { name: `Entries (${total})` }).count()).toBe(1);
    const first = await rows.first().textContent();
    const pages = page.getByRole("navigation", { name: "Pages of entries" });
    await pages.getByRole("link", { name: "Older →" }).click();
    await page.waitForURL(/before=/);
    expect(await rows.count()).toBe(total - 50);
    expect(await pages.getByRole("link", { name: "Older →" }).count()).toBe(0);
    await pages.getByRole("link", { name: "← Newer" }).click();
    await page.waitForURL(/after=/);
    expect(await rows.count()).toBe(50);
    expect(await rows.first().textContent()).toBe(first);
    // A forged cursor is not a UUID: ignored, the first page.
    const forged = await page.goto(
      `${url}/dlq?status=discarded&before=${encodeURIComponent("' or 1=1--")}`,
    );
    expect(forged?.status()).toBe(200);
    expect(await rows.count()).toBe(50);
    expect(await rows.first().textContent()).toBe(first);
    await context.close();
  });

  it("opens the embedding provider's breaker when the provider fails; an operator's reset is refused (403), an admin's closes it", async () => {
    // The provider goes down: one search retries until the breaker opens, then fails fast.
    openai.faults({ down: true });
    const operator = await newContext();
    const op = await signIn(operator, keys.operator ?? "", "/breakers");
    await op.goto(`${url}/search?q=harbour+master`);
    openai.faults({});
    await op.goto(`${url}/breakers`);
    const row = (page: Page) =>
      page.getByTestId("breakers").getByRole("row").filter({ hasText: "embedding:openai" });
    expect(await row(op).textContent()).toMatch(/down open.*[5-9] in a row/);
    expect(await row(op).getByRole("button").count()).toBe(0);
    // An operator sending the admin's reset (the console action, then the admin API): 403.
    const admin = await newContext();
    const page = await signIn(admin, keys.admin ?? "", "/breakers");
    const replay = await captureAction(page, "**/breakers", () =>
      row(page).getByRole("button", { name: "Reset embedding:openai" }).click(),
    );
    expect(await (await replay(operator)).text()).toMatch(/"status":403/);
    const api = await fetch(`${url}/api/admin/breakers/embedding%3Aopenai/reset`, {
      method: "POST",
      headers: { authorization: `Bearer ${keys.operator}` },
    });
    expect(api.status).toBe(403);
    await op.reload();
    expect(await row(op).textContent()).toMatch(/down open/);
    // The admin resets it: closed, and search reaches the provider again.
    await page.reload();
    await row(page).getByRole("button", { name: "Reset embedding:openai" }).click();
    await page.waitForURL(`${url}/breakers?reset=${encodeURIComponent("embedding:openai")}`);
    expect(await page.getByRole("status").textContent()).toMatch(
      /Breaker embedding:openai reset: closed/,
    );
    expect(await row(page).textContent()).toMatch(/ok closed/);
    expect(await row(page).getByRole("button").count()).toBe(0);
    await op.goto(`${url}/search?q=harbour+master`);
    expect(await op.getByTestId("search-result").count()).toBeGreaterThan(0);
    const audit = await withDb((db) => listAudit(db, { limit: 20 }));
    expect(
      audit.filter((a) => a.action === "breakers.reset").map((a) => [a.actor, a.result]),
    ).toEqual([
      ["admin-key", "ok"],
      ["operator-key", "denied"],
      ["operator-key", "denied"],
    ]);
    await admin.close();
    await operator.close();
  });

  it("approves a cleanup awaiting approval with a reason, showing what it would delete; viewers and operators get 403", async () => {
    const plan: CleanupPlan = {
      at: new Date().toISOString(),
      orphanedChunks: 12,
      removedSourceDocuments: 0,
      excludedDocuments: [{ sourceId: "", source: "handbook", documents: 3, chunks: 9 }],
      stuckRuns: [],
      archive: [],
      archiveExpiry: [],
      unarchivedRows: 21,
      sourcesOverThreshold: [{ sourceId: "", source: "handbook", chunks: 21, of: 40 }],
      approvalRequired: "would delete 52% of handbook's chunks (threshold 10%)",
    };
    const run = await withDb(async (db) => {
      const started = await startCleanupRun(db, {
        dedupeKey: "console-e2e-cleanup",
        correlationId: "console-e2e-cleanup",
        trigger: "manual",
        requestedBy: "console-e2e",
        plan,
      });
      await setCleanupStatus(db, started.id, "awaiting_approval");
      return started;
    });
    const context = await newContext();
    const page = await signIn(context, keys.admin ?? "", "/approvals");
    const card = page.getByTestId("pending-cleanup");
    expect(await card.count()).toBe(1);
    expect(await card.textContent()).toMatch(/would delete 52% of handbook/);
    expect(await card.textContent()).toMatch(/Orphaned chunks12/);
    expect(await card.textContent()).toMatch(/handbook: 3 documents, 9 chunks/);
    // No reason: refused beside the field.
    await card.getByRole("button", { name: "Approve cleanup" }).click();
    await expect.poll(() => card.locator(".field-error").textContent()).toMatch(/say why/);
    // The same approval sent with a viewer's or an operator's session: 403, nothing decided.
    await card.getByLabel("Reason").fill("checked the plan with the team");
    const replay = await captureAction(page, "**/approvals", () =>
      card.getByRole("button", { name: "Approve cleanup" }).click(),
    );
    for (const role of ["viewer", "operator"] as const) {
      const other = await newContext();
      await signIn(other, keys[role] ?? "");
      const response = await replay(other);
      expect(await response.text(), role).toMatch(/"status":403/);
      expect((await withDb((db) => getCleanupRun(db, run.id))).decision, role).toBeNull();
      await other.close();
    }
    await page.reload();
    await card.getByLabel("Reason").fill("checked the plan with the team");
    await card.getByRole("button", { name: "Approve cleanup" }).click();
    await page.waitForURL(`${url}/approvals?decided=approve`);
    expect(await page.getByTestId("pending-cleanup").count()).toBe(0);
    expect(await page.getByTestId("decided-cleanups").textContent()).toMatch(
      /approved by admin-key: “checked the plan with the team”/,
    );
    const decided = await withDb((db) => getCleanupRun(db, run.id));
    expect(decided).toMatchObject({
      decision: "approve",
      decidedBy: "admin-key",
      decisionReason: "checked the plan with the team",
    });
    await context.close();
  });

  it("shows each channel's mode, approves the new channels, then fire-tests an alert: raised, delivered (log-only and live) and resolved", async () => {
    const context = await newContext();
    const page = await signIn(context, keys.admin ?? "", "/alerts");
    const channel = (id: string) =>
      page.getByTestId("channels").getByRole("row").filter({ hasText: id });
    expect(await channel("slack").textContent()).toMatch(
      /slack.*log-only.*hooks\.slack\.com.*awaiting approval/,
    );
    expect(await channel("webhook").textContent()).toMatch(
      /webhook.*live.*127\.0\.0\.1.*awaiting approval/,
    );
    await page.goto(`${url}/approvals`);
    for (const [id, mode] of [
      ["slack", "log-only"],
      ["webhook", "live"],
    ] as const) {
      const pending = page.getByTestId("pending-channel").filter({ hasText: id });
      expect(await pending.textContent()).toMatch(new RegExp(`${id} .*${mode}`));
      await pending.getByLabel("Reason").fill("the team's alert channel");
      await pending.getByRole("button", { name: /Approve channel/ }).click();
      await page.waitForURL(`${url}/approvals?approved_channel=${id}`);
    }
    await page.goto(`${url}/alerts`);
    expect(await page.getByTestId("channels").textContent()).not.toMatch(/awaiting approval/);
    const rule = page.getByTestId("rule-dlq-depth");
    await rule.getByRole("button", { name: "Fire test of dlq-depth" }).click();
    const report = rule.getByTestId("fire-test-report");
    await report.waitFor({ timeout: 60_000 });
    for (const id of ["fire-test-raised", "fire-test-delivered", "fire-test-resolved"])
      expect(await report.getByTestId(id).textContent(), id).toMatch(
        /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/,
      );
    expect(await report.textContent()).toMatch(/firing · slack: logged/);
    expect(await report.textContent()).toMatch(/firing · webhook: sent/);
    expect(await report.textContent()).toMatch(/resolved · slack: logged/);
    expect(await report.textContent()).toMatch(/resolved · webhook: sent/);
    // The live channel really delivered: the firing and the resolution reached the receiver
    // (the monitor's own alerts may arrive there too once the channel is approved).
    const tested = hook.received.filter((r) => r.body.includes("[fire-test]"));
    expect(tested.length).toBe(2);
    expect(tested.every((r) => r.body.includes("dlq-depth"))).toBe(true);
    await page.reload();
    expect(await page.getByTestId("resolved-alerts").textContent()).toMatch(
      /dlq-depth \[fire-test\].*fire-test complete/s,
    );
    await context.close();
  });

  it("holds each role to its actions: a viewer reads and gets a 403 page for operator and admin pages", async () => {
    const context = await newContext();
    const page = await signIn(context, keys.viewer ?? "");
    const nav = await page
      .getByRole("navigation", { name: "Console" })
      .getByRole("link")
      .allTextContents();
    expect(nav).toEqual([
      "Overview",
      "Sources",
      "Search",
      "Alerts",
      "Breakers",
      "Traces",
      "Replays",
      "Approvals",
    ]);
    for (const path of [
      "/runs",
      "/sources/new",
      "/keys",
      "/audit",
      `/runs/${runId}`,
      "/sources/handbook/remove",
      "/dlq",
    ]) {
      const response = await page.goto(`${url}${path}`);
      expect(response?.status(), path).toBe(403);
      expect(await page.textContent("h1"), path).toBe("Your role cannot open this page");
    }
    await page.goto(`${url}/sources/handbook`);
    expect(await page.getByRole("button", { name: "Sync changes" }).count()).toBe(0);
    expect(
      await page.getByText("Syncing, pausing and resuming need the operator role.").count(),
    ).toBe(1);
    // A script may read pages with a Bearer key instead of a session, held to the same roles.
    const asViewer = { authorization: `Bearer ${keys.viewer}` };
    const sourcesPage = await fetch(`${url}/sources`, { headers: asViewer, redirect: "manual" });
    expect(sourcesPage.status).toBe(200);
    expect(await sourcesPage.text()).toContain("handbook");
    expect((await fetch(`${url}/keys`, { headers: asViewer, redirect: "manual" })).status).toBe(
      403,
    );
    const wrongKey = await fetch(`${url}/sources`, {
      headers: { authorization: "Bearer blst_nope" },
      redirect: "manual",
    });
    expect(wrongKey.status).toBe(307);
    expect(wrongKey.headers.get("location")).toMatch(/^\/login/);
    // The SSE streams refuse the viewer too.
    expect((await context.request.get(`${url}/api/admin/runs/${runId}/events`)).status()).toBe(403);
    await context.close();

    const operator = await newContext();
    const op = await signIn(operator, keys.operator ?? "");
    expect(
      await op.getByRole("navigation", { name: "Console" }).getByRole("link").allTextContents(),
    ).toEqual([
      "Overview",
      "Sources",
      "Runs",
      "Dead letters",
      "Search",
      "Alerts",
      "Breakers",
      "Traces",
      "Replays",
      "Approvals",
    ]);
    for (const path of ["/keys", "/audit", "/sources/new"])
      expect((await op.goto(`${url}${path}`))?.status(), path).toBe(403);
    await op.goto(`${url}/sources/handbook`);
    await op.getByRole("button", { name: "Pause" }).click();
    await op.getByRole("button", { name: "Resume" }).waitFor();
    expect(await op.locator("#index-title").count()).toBe(1);
    await op.getByRole("button", { name: "Resume" }).click();
    await op.getByRole("button", { name: "Pause" }).waitFor();
    await operator.close();
  });

  it("refuses a console action sent from another origin, and nothing changes", async () => {
    const context = await newContext();
    const page = await signIn(context, keys.admin ?? "", "/keys");
    // Capture the browser's own server-action request (and stop it), then replay it.
    let captured: { url: string; headers: Record<string, string>; body: Buffer } | undefined;
    await page.route("**/keys", async (route) => {
      const request = route.request();
      if (request.method() !== "POST") return route.continue();
      captured = {
        url: request.url(),
        headers: await request.allHeaders(),
        body: request.postDataBuffer() ?? Buffer.alloc(0),
      };
      await route.abort();
    });
    await page.getByLabel("Name").fill("smuggled");
    await page.getByRole("button", { name: "Create key" }).click();
    await expect.poll(() => captured !== undefined).toBe(true);
    await page.unroute("**/keys");
    const replay = (headers: Record<string, string>) => {
      const { host: _host, "content-length": _length, ...rest } = captured?.headers ?? {};
      return context.request.fetch(captured?.url ?? "", {
        method: "POST",
        headers: { ...rest, ...headers },
        data: captured?.body,
        maxRedirects: 0,
      });
    };
    for (const headers of [
      { origin: "https://evil.example", "sec-fetch-site": "cross-site" },
      { origin: "null", "sec-fetch-site": "cross-site" },
    ]) {
      const response = await replay(headers);
      expect(response.status(), JSON.stringify(headers)).toBeGreaterThanOrEqual(400);
      expect(await keyNames(), JSON.stringify(headers)).not.toContain("smuggled");
    }
    // The very same request from the console's own origin is accepted: only the origin differed.
    const same = await replay({ origin: url, "sec-fetch-site": "same-origin" });
    expect(same.status()).toBe(200);
    expect(await keyNames()).toContain("smuggled");
    // And the form itself shows a new key once.
    await page.goto(`${url}/keys`);
    await page.getByLabel("Name").fill("made-in-console");
    await page.getByRole("button", { name: "Create key" }).click();
    await expect.poll(() => page.getByTestId("created-key").inputValue()).toMatch(/^blst_/);
    expect(await keyNames()).toContain("made-in-console");
    await context.close();
  });

  it("sends an operator whose session ended to the login page and back to the same page", async () => {
    const context = await newContext();
    const page = await signIn(context, keys.expiring ?? "", "/runs");
    await withDb((db) => revokeApiKey(db, (keys.expiring ?? "").slice(0, 17)));
    await page.goto(`${url}/runs?status=succeeded`);
    expect(new URL(page.url()).pathname).toBe("/login");
    expect(new URL(page.url()).searchParams.get("reason")).toBe("expired");
    expect(await page.getByText("Your session ended").count()).toBe(1);
    await page.getByLabel("API key").fill(keys.operator ?? "");
    await page.getByRole("button", { name: "Sign in with key" }).click();
    await page.waitForURL(`${url}/runs?status=succeeded`);
    expect(await page.textContent("h1")).toBe("Runs");
    await context.close();
  });

  it("signs in with GitHub against the loopback provider on another site, with the allow-listed role", async () => {
    const context = await newContext();
    const page = await context.newPage();
    github.setUser({ login: "dev", id: 42, orgs: ["acme"], teams: [] });
    await page.goto(`${url}/login?next=/sources`);
    await page.getByRole("link", { name: "Sign in with GitHub" }).click();
    await page.waitForURL(`${url}/sources`);
    expect(await page.getByText("github:dev").count()).toBe(1);
    expect(
      await page.locator("header, div").getByText("operator", { exact: true }).count(),
    ).toBeGreaterThan(0);
    const [cookie] = (await context.cookies()).filter((c) => c.name === "ballast_session");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict" });
    expect(github.requests.map((r) => r.path)).toEqual(
      expect.arrayContaining([
        "/login/oauth/authorize",
        "/login/oauth/access_token",
        "/user",
        "/user/orgs",
      ]),
    );
    await context.close();

    const stranger = await newContext();
    const other = await stranger.newPage();
    github.setUser({ login: "stranger", id: 43, orgs: ["elsewhere"], teams: [] });
    await other.goto(`${url}/login`);
    await other.getByRole("link", { name: "Sign in with GitHub" }).click();
    await other.waitForURL(/error=github_not_allowed/);
    expect(await other.locator("p.notice-error").textContent()).toMatch(
      /not on this console's allow-list/,
    );
    expect((await stranger.cookies()).filter((c) => c.name === "ballast_session")).toEqual([]);
    await stranger.close();
  });

  it("passes an axe-core scan (no serious or critical violation) on every page, light and dark (and screenshots them under npm run screenshots)", async () => {
    const pages: [string, string][] = [
      ["overview", "/"],
      ["sources", "/sources"],
      ["source", "/sources/handbook"],
      ["source-remove", "/sources/handbook/remove"],
      ["sources-new", "/sources/new"],
      ["runs", "/runs"],
      ["run", `/runs/${runId}`],
      ["search", "/search?q=tide+ledger"],
      ["keys", "/keys"],
      ["audit", "/audit"],
      ["dlq", "/dlq"],
      ["alerts", "/alerts"],
      ["approvals", "/approvals"],
      ["breakers", "/breakers"],
      ["traces", "/traces"],
      ["replays", "/replays"],
      ["not-found", "/runs/00000000-0000-4000-8000-000000000000"],
    ];
    const problems: string[] = [];
    /** One navigation, then the page in light and in dark (the app follows prefers-color-scheme). */
    const scan = async (tab: Page, name: string, target: string) => {
      await tab.goto(`${url}${target}`);
      for (const colorScheme of ["light", "dark"] as const) {
        await tab.emulateMedia({ colorScheme });
        problems.push(...(await axeProblems(tab, `${name} (${colorScheme})`)));
      }
    };
    const admin = await newContext();
    const viewer = await newContext();
    const anonymous = await newContext();
    // Three tabs scan at once: two share the admin's pages, the third the viewer's 403 page and
    // the login page.
    const tabs = [await signIn(admin, keys.admin ?? ""), await admin.newPage()];
    await Promise.all([
      ...tabs.map(async (tab, lane) => {
        for (let i = lane; i < pages.length; i += tabs.length) {
          const [name, target] = pages[i] ?? ["", "/"];
          await scan(tab, name, target);
        }
      }),
      (async () => {
        await scan(await signIn(viewer, keys.viewer ?? ""), "forbidden", "/keys");
        await scan(await anonymous.newPage(), "login", "/login?error=invalid");
      })(),
    ]);
    await Promise.all([admin.close(), viewer.close(), anonymous.close()]);
    expect(problems).toEqual([]);
    await screenshotAll(undefined, [...pages, ["forbidden", "/keys"], ["login", "/login"]]);
    expect(cspViolations).toEqual([]);
    // Every page through axe in light and dark, then four screenshots each (npm run screenshots).
  }, 600_000);

  it("signs out: the session ends and pages send the browser to the login page", async () => {
    const context = await newContext();
    const page = await signIn(context, keys.operator ?? "", undefined, { fresh: true });
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/login\?signed_out=1/);
    expect(await page.getByText("You are signed out.").count()).toBe(1);
    await page.goto(`${url}/sources`);
    expect(new URL(page.url()).pathname).toBe("/login");
    expect(new URL(page.url()).searchParams.get("reason")).toBeNull();
    await context.close();
  });

  it("removes a source only once its name is typed, naming what goes with it", async () => {
    const context = await newContext();
    const page = await signIn(context, keys.admin ?? "", "/sources/handbook");
    await page.getByRole("link", { name: "Remove…" }).click();
    await page.waitForURL(`${url}/sources/handbook/remove`);
    expect(await page.getByTestId("removal-footprint").textContent()).toMatch(
      /602 documents and [\d,]+ chunks/,
    );
    await page.getByLabel("Type handbook to confirm").fill("handbok");
    await page.getByRole("button", { name: /Remove handbook/ }).click();
    await expect
      .poll(() => page.locator("#field-confirm-error").textContent())
      .toMatch(/type the source's name/);
    expect(await sourceNames()).toContain("handbook");
    await page.getByLabel("Type handbook to confirm").fill("handbook");
    await page.getByRole("button", { name: /Remove handbook/ }).click();
    await page.waitForURL(`${url}/sources?removed=handbook`);
    expect(await page.getByText("No sources yet").count()).toBe(1);
    await context.close();
  });

  async function axeProblems(page: Page, label: string): Promise<string[]> {
    const result = await new AxeBuilder({ page })
      .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
      .analyze();
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map(
        (v) =>
          `${label}: ${v.id} (${v.impact}) ${v.nodes
            .map((n) => n.target.join(" "))
            .slice(0, 3)
            .join(" | ")}`,
      );
  }

  /** Every page, light and dark, laptop (1280×900) and phone (390×844), full length. */
  async function screenshotAll(
    context: BrowserContext | undefined,
    pages: [string, string][],
    options: { reuse?: Page } = {},
  ) {
    // Screenshots are for review, not assertions: `npm run screenshots` asks for them (CI skips
    // the minutes they take).
    if (process.env.CONSOLE_SCREENSHOTS !== "1") return;
    const devices = [
      ["laptop", { width: 1280, height: 900 }],
      ["phone", { width: 390, height: 844 }],
    ] as const;
    if (options.reuse) {
      for (const [device, viewport] of devices)
        for (const scheme of ["light", "dark"] as const) {
          await options.reuse.setViewportSize(viewport);
          await options.reuse.emulateMedia({ colorScheme: scheme });
          await options.reuse.screenshot({
            path: path.join(SHOTS, `${pages[0]?.[0]}-${scheme}-${device}.png`),
            fullPage: true,
          });
        }
      await options.reuse.setViewportSize({ width: 1280, height: 900 });
      return;
    }
    for (const [device, viewport] of devices)
      for (const scheme of ["light", "dark"] as const) {
        const admin = context ?? (await newContext({ colorScheme: scheme, viewport }));
        const page = await signIn(admin, keys.admin ?? "");
        const viewer = await newContext({ colorScheme: scheme, viewport });
        const viewerPage = await signIn(viewer, keys.viewer ?? "");
        const anonymous = await newContext({ colorScheme: scheme, viewport });
        const anonymousPage = await anonymous.newPage();
        for (const [name, target] of pages) {
          const tab = name === "forbidden" ? viewerPage : name === "login" ? anonymousPage : page;
          await tab.goto(`${url}${target}`);
          await tab.screenshot({
            path: path.join(SHOTS, `${name}-${scheme}-${device}.png`),
            fullPage: true,
          });
        }
        await viewer.close();
        await anonymous.close();
        if (!context) await admin.close();
      }
  }
});
