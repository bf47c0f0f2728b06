import { execFile } from "node:child_process";
import {
  createPublicKey,
  type KeyObject,
  randomBytes,
  verify as verifySignature,
} from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";

/**
 * A loopback server speaking the part of the GitHub REST API that the GitHub source reader
 * uses, answering from real local git repositories (so trees, blobs and diffs are real):
 *
 *   GET  /repos/{o}/{r}                          repository (default_branch from HEAD)
 *   GET  /repos/{o}/{r}/git/ref/{ref}            one ref (409 when the repository is empty)
 *   GET  /repos/{o}/{r}/branches                 branches, paginated
 *   GET  /repos/{o}/{r}/git/trees/{sha}          trees, ?recursive=1, truncated past a limit
 *   GET  /repos/{o}/{r}/compare/{base}...{head}  status, commits (paginated), files (≤ 300)
 *   GET  /repos/{o}/{r}/git/blobs/{sha}          base64 content
 *   GET  /repos/{o}/{r}/installation             (GitHub App JWT)
 *   POST /app/installations/{id}/access_tokens   (GitHub App JWT) → installation token
 *
 * Faults are scriptable: primary rate limit (403/429 + x-ratelimit-remaining: 0 +
 * x-ratelimit-reset), secondary rate limit (403/429 + retry-after + GitHub's message), and
 * any status (5xx, 401, 403…), for the next N matching requests.
 */

const run = promisify(execFile);

export type Fault = { match?: string | RegExp; times?: number } & (
  | { kind: "primary-rate-limit"; status?: 403 | 429; resetInSeconds?: number }
  | { kind: "secondary-rate-limit"; status?: 403 | 429; retryAfterSeconds?: number }
  | { kind: "status"; status: number; body?: unknown; headers?: Record<string, string> }
);

export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
  auth: "token" | "bearer" | "none";
}

export interface FakeGitHubApp {
  appId: string;
  /** PEM or KeyObject of the App's public key (the reader signs JWTs with the private key). */
  publicKey: string | KeyObject;
  installationId: number;
}

export interface FakeGitHubOptions {
  /** "owner/repo" → a git repository directory (work tree or bare). */
  repos?: Record<string, string>;
  /** The personal access token accepted (default: a fixed fake). */
  token?: string;
  app?: FakeGitHubApp;
  /** A recursive tree listing longer than this is cut and marked truncated (default 100,000). */
  maxTreeEntries?: number;
  /** Files listed by compare (default 300, as GitHub). */
  compareFileLimit?: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

/** A body with extra response headers (e.g. a Link header). */
class Reply {
  constructor(
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
    readonly status = 200,
  ) {}
}

const notFound = () =>
  new HttpError(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" });

async function git(dir: string, args: string[]): Promise<string> {
  const { stdout } = await run("git", ["-c", "core.quotepath=off", "-C", dir, ...args], {
    maxBuffer: 512 * 1024 * 1024,
    encoding: "utf8",
  });
  return stdout;
}

async function gitOk(dir: string, args: string[]): Promise<string | undefined> {
  try {
    return await git(dir, args);
  } catch {
    return undefined;
  }
}

function b64url(input: string): Buffer {
  return Buffer.from(input.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}

export class FakeGitHub {
  readonly token: string;
  readonly requests: RecordedRequest[] = [];
  readonly issuedTokens = new Set<string>();
  private readonly repos = new Map<string, string>();
  private readonly faults: (Fault & { left: number })[] = [];
  private server: Server | undefined;
  url = "";

  constructor(private readonly options: FakeGitHubOptions = {}) {
    this.token = options.token ?? `ghp_${"F".repeat(36)}`;
    for (const [name, dir] of Object.entries(options.repos ?? {})) this.addRepo(name, dir);
  }

  static async start(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
    const fake = new FakeGitHub(options);
    await fake.listen();
    return fake;
  }

  addRepo(fullName: string, dir: string): void {
    this.repos.set(fullName.toLowerCase(), dir);
  }

  /** The next `times` (default 1) requests whose path matches get this fault instead. */
  fail(fault: Fault): void {
    this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  /** Requests whose path contains `fragment`. */
  requestsTo(fragment: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.includes(fragment));
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async listen(): Promise<void> {
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake.github");
    const method = req.method ?? "GET";
    const authorization = req.headers.authorization ?? "";
    const scheme = /^bearer /i.test(authorization)
      ? "bearer"
      : /^token /i.test(authorization)
        ? "token"
        : "none";
    let status = 200;
    let body: unknown;
    let headers: Record<string, string> = {};
    try {
      for await (const _ of req) {
        // drain the request body
      }
      this.applyFault(url.pathname);
      const result = await this.route(method, url, authorization);
      if (result instanceof Reply) {
        body = result.body;
        headers = result.headers;
        status = result.status;
      } else {
        body = result;
      }
    } catch (error) {
      if (error instanceof HttpError) {
        status = error.status;
        body = error.body;
        headers = error.headers;
      } else {
        status = 500;
        body = { message: `fake github: ${(error as Error).message}` };
      }
    }
    this.requests.push({ method, path: `${url.pathname}${url.search}`, status, auth: scheme });
    const reset = Math.floor(Date.now() / 1000) + 3600;
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": "4999",
      "x-ratelimit-reset": String(reset),
      "x-ratelimit-resource": "core",
      "x-github-api-version-selected": "2022-11-28",
      ...headers,
    });
    res.end(JSON.stringify(body));
  }

  private applyFault(pathname: string): void {
    const index = this.faults.findIndex((f) =>
      f.match === undefined
        ? true
        : typeof f.match === "string"
          ? pathname.includes(f.match)
          : f.match.test(pathname),
    );
    if (index === -1) return;
    const fault = this.faults[index] as Fault & { left: number };
    fault.left -= 1;
    if (fault.left <= 0) this.faults.splice(index, 1);
    const now = Math.floor(Date.now() / 1000);
    switch (fault.kind) {
      case "primary-rate-limit":
        throw new HttpError(
          fault.status ?? 403,
          {
            message: "API rate limit exceeded for installation ID 1.",
            documentation_url:
              "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting",
          },
          {
            "x-ratelimit-remaining": "0",
            "x-ratelimit-used": "5000",
            "x-ratelimit-reset": String(now + (fault.resetInSeconds ?? 0)),
          },
        );
      case "secondary-rate-limit":
        throw new HttpError(
          fault.status ?? 403,
          {
            message:
              "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            documentation_url:
              "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
          },
          { "retry-after": String(fault.retryAfterSeconds ?? 1) },
        );
      case "status":
        throw new HttpError(
          fault.status,
          fault.body ?? { message: `scripted ${fault.status}` },
          fault.headers,
        );
    }
  }

  // ---------------------------------------------------------------- auth

  private verifyJwt(authorization: string): void {
    const app = this.options.app;
    const jwt = authorization.replace(/^bearer\s+/i, "");
    const parts = jwt.split(".");
    if (!app || parts.length !== 3)
      throw new HttpError(401, { message: "A JSON web token could not be decoded" });
    const [header, payload, signature] = parts as [string, string, string];
    const key = typeof app.publicKey === "string" ? createPublicKey(app.publicKey) : app.publicKey;
    const valid = verifySignature(
      "RSA-SHA256",
      Buffer.from(`${header}.${payload}`),
      key,
      b64url(signature),
    );
    const claims = JSON.parse(b64url(payload).toString("utf8")) as { iss?: unknown; exp?: number };
    if (
      !valid ||
      String(claims.iss) !== app.appId ||
      !claims.exp ||
      claims.exp * 1000 < Date.now()
    ) {
      throw new HttpError(401, { message: "'Issuer' claim ('iss') must be an Integer" });
    }
  }

  private requireToken(authorization: string): void {
    const value = authorization.replace(/^(token|bearer)\s+/i, "");
    if (!authorization) throw new HttpError(401, { message: "Requires authentication" });
    if (value !== this.token && !this.issuedTokens.has(value)) {
      throw new HttpError(401, {
        message: "Bad credentials",
        documentation_url: "https://docs.github.com/rest",
      });
    }
  }

  // ---------------------------------------------------------------- routes

  private async route(method: string, url: URL, authorization: string): Promise<unknown> {
    const path = url.pathname;
    const tokenRoute = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path);
    if (tokenRoute && method === "POST") {
      this.verifyJwt(authorization);
      if (Number(tokenRoute[1]) !== this.options.app?.installationId) throw notFound();
      const token = `ghs_${randomBytes(18).toString("hex")}`;
      this.issuedTokens.add(token);
      return new Reply(
        {
          token,
          expires_at: new Date(Date.now() + 3600_000).toISOString(),
          permissions: { contents: "read", metadata: "read" },
          repository_selection: "all",
        },
        {},
        201,
      );
    }
    const repoRoute = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
    if (!repoRoute || method !== "GET") throw notFound();
    const [, owner = "", name = "", rest = ""] = repoRoute;
    const fullName = `${decodeURIComponent(owner)}/${decodeURIComponent(name)}`;
    if (rest === "/installation") {
      this.verifyJwt(authorization);
      if (!this.repos.has(fullName.toLowerCase()) || !this.options.app) throw notFound();
      return { id: this.options.app.installationId, app_id: Number(this.options.app.appId) };
    }
    this.requireToken(authorization);
    const dir = this.repos.get(fullName.toLowerCase());
    if (!dir) throw notFound();

    if (rest === "") return this.repository(dir, fullName);
    let m = /^\/git\/ref\/(.+)$/.exec(rest);
    if (m) return this.ref(dir, decodeURIComponent(m[1] as string));
    if (rest === "/branches") return this.branches(dir, url);
    m = /^\/git\/trees\/([^/]+)$/.exec(rest);
    if (m)
      return this.tree(dir, decodeURIComponent(m[1] as string), url.searchParams.has("recursive"));
    m = /^\/compare\/(.+)$/.exec(rest);
    if (m) return this.compare(dir, decodeURIComponent(m[1] as string), url);
    m = /^\/git\/blobs\/([^/]+)$/.exec(rest);
    if (m) return this.blob(dir, decodeURIComponent(m[1] as string));
    throw notFound();
  }

  private async isEmpty(dir: string): Promise<boolean> {
    return (await git(dir, ["for-each-ref", "--count=1", "refs/heads/"])).trim() === "";
  }

  private async repository(dir: string, fullName: string): Promise<unknown> {
    const head = (await gitOk(dir, ["symbolic-ref", "--short", "HEAD"]))?.trim() ?? "main";
    const [owner, name] = fullName.split("/");
    return {
      id: 1296269,
      node_id: "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
      name,
      full_name: fullName,
      owner: { login: owner, id: 1, type: "User" },
      private: true,
      default_branch: head,
      size: (await this.isEmpty(dir)) ? 0 : 1,
    };
  }

  private async ref(dir: string, ref: string): Promise<unknown> {
    if (await this.isEmpty(dir)) throw new HttpError(409, { message: "Git Repository is empty." });
    const sha = (await gitOk(dir, ["rev-parse", "-q", "--verify", `refs/${ref}^{commit}`]))?.trim();
    if (!sha || !ref.startsWith("heads/")) throw notFound();
    return {
      ref: `refs/${ref}`,
      node_id: "REF",
      url: "",
      object: { sha, type: "commit", url: "" },
    };
  }

  private async branches(dir: string, url: URL): Promise<unknown> {
    const perPage = Number(url.searchParams.get("per_page") ?? 30);
    const page = Number(url.searchParams.get("page") ?? 1);
    const lines = (
      await git(dir, ["for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/"])
    )
      .split("\n")
      .filter(Boolean);
    return lines.slice((page - 1) * perPage, page * perPage).map((line) => {
      const [name, sha] = line.split(" ");
      return { name, commit: { sha, url: "" }, protected: false };
    });
  }

  private async resolve(dir: string, rev: string, type: "commit" | "tree"): Promise<string> {
    if (!/^[0-9a-zA-Z._/-]+$/.test(rev) || rev.startsWith("-")) throw notFound();
    const sha = (await gitOk(dir, ["rev-parse", "-q", "--verify", `${rev}^{${type}}`]))?.trim();
    if (!sha) throw notFound();
    return sha;
  }

  private async tree(dir: string, rev: string, recursive: boolean): Promise<unknown> {
    if (await this.isEmpty(dir)) throw new HttpError(409, { message: "Git Repository is empty." });
    const sha = await this.resolve(dir, rev, "tree");
    const out = await git(dir, ["ls-tree", "-l", "-z", ...(recursive ? ["-r", "-t"] : []), sha]);
    let tree = out
      .split("\0")
      .filter(Boolean)
      .map((record) => {
        const tab = record.indexOf("\t");
        const [mode, type, objectSha, size] = record.slice(0, tab).split(" ").filter(Boolean);
        return {
          path: record.slice(tab + 1),
          mode,
          type,
          sha: objectSha,
          ...(type === "blob" ? { size: Number(size) } : {}),
          url: "",
        };
      });
    let truncated = false;
    const max = this.options.maxTreeEntries ?? 100_000;
    if (recursive && tree.length > max) {
      tree = tree.slice(0, max);
      truncated = true;
    }
    return { sha, url: "", tree, truncated };
  }

  private async compare(dir: string, basehead: string, url: URL): Promise<unknown> {
    const m = /^(.+?)\.\.\.(.+)$/.exec(basehead);
    if (!m) throw notFound();
    const base = await this.resolve(dir, m[1] as string, "commit");
    const head = await this.resolve(dir, m[2] as string, "commit");
    const mergeBase = (await gitOk(dir, ["merge-base", base, head]))?.trim();
    if (!mergeBase)
      throw new HttpError(404, { message: `No common ancestor between ${base} and ${head}.` });
    const status =
      base === head
        ? "identical"
        : mergeBase === base
          ? "ahead"
          : mergeBase === head
            ? "behind"
            : "diverged";
    const commitShas = (await git(dir, ["rev-list", "--reverse", `${base}..${head}`]))
      .split("\n")
      .filter(Boolean);
    const behindBy = Number((await git(dir, ["rev-list", "--count", `${head}..${base}`])).trim());
    const paginated = url.searchParams.has("per_page") || url.searchParams.has("page");
    const perPage = paginated ? Number(url.searchParams.get("per_page") ?? 30) : 250;
    const page = paginated ? Number(url.searchParams.get("page") ?? 1) : 1;
    const commits = commitShas
      .slice((page - 1) * perPage, page * perPage)
      .map((sha) => ({ sha, commit: {} }));
    const response: Record<string, unknown> = {
      status,
      ahead_by: commitShas.length,
      behind_by: behindBy,
      total_commits: commitShas.length,
      base_commit: { sha: base },
      merge_base_commit: { sha: mergeBase },
      commits,
    };
    if (page === 1)
      response.files = (await this.diffFiles(dir, mergeBase, head)).slice(
        0,
        this.options.compareFileLimit ?? 300,
      );
    const headers: Record<string, string> = {};
    if (paginated && page * perPage < commitShas.length) {
      headers.link = `<${this.url}${url.pathname}?per_page=${perPage}&page=${page + 1}>; rel="next"`;
    }
    return new Reply(response, headers);
  }

  private async diffFiles(dir: string, from: string, to: string): Promise<unknown[]> {
    const fields = (
      await git(dir, ["diff-tree", "-r", "-z", "-M", "--raw", "--no-abbrev", from, to])
    )
      .split("\0")
      .filter(Boolean);
    const files: unknown[] = [];
    const names: Record<string, string> = {
      A: "added",
      D: "removed",
      M: "modified",
      T: "changed",
      R: "renamed",
      C: "copied",
    };
    for (let i = 0; i < fields.length; ) {
      const meta = fields[i] as string;
      if (!meta.startsWith(":")) break;
      const [, , srcSha, dstSha, code = ""] = meta.slice(1).split(" ");
      const letter = code.charAt(0);
      const renamed = letter === "R" || letter === "C";
      const filename = (renamed ? fields[i + 2] : fields[i + 1]) as string;
      files.push({
        sha: letter === "D" ? srcSha : dstSha,
        filename,
        status: names[letter] ?? "modified",
        additions: 0,
        deletions: 0,
        changes: 0,
        ...(renamed ? { previous_filename: fields[i + 1] } : {}),
      });
      i += renamed ? 3 : 2;
    }
    return files;
  }

  private async blob(dir: string, sha: string): Promise<unknown> {
    if (!/^[0-9a-f]{40}$/.test(sha)) throw new HttpError(422, { message: "Invalid sha" });
    const type = (await gitOk(dir, ["cat-file", "-t", sha]))?.trim();
    if (type !== "blob") throw notFound();
    const { stdout } = await run("git", ["-C", dir, "cat-file", "blob", sha], {
      encoding: "buffer",
      maxBuffer: 512 * 1024 * 1024,
    });
    const content = (stdout.toString("base64").match(/.{1,60}/g) ?? []).join("\n");
    return { sha, node_id: "BLOB", size: stdout.length, url: "", content, encoding: "base64" };
  }
}
