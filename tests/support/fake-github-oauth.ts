import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A loopback server speaking GitHub's OAuth web flow and the REST calls the console's sign-in
 * makes, as GitHub answers them:
 *
 *   GET  /login/oauth/authorize      the signed-in user (setUser) approves at once: 302 to
 *                                    redirect_uri?code&state; ?error=access_denied when denying
 *   POST /login/oauth/access_token   client id/secret (HTTP Basic or body), code once, PKCE S256
 *                                    checked; errors as GitHub sends them (200 + {error})
 *   GET  /user                       {login, id}
 *   GET  /user/orgs                  the user's organisations (paginated)
 *   GET  /orgs/{org}/teams/{slug}/memberships/{login}   200 {state: "active"} or 404
 */
export interface FakeGitHubUser {
  login: string;
  id: number;
  orgs: string[];
  /** "org/slug" */
  teams: string[];
}

export interface FakeGitHubOAuth {
  url: string;
  clientId: string;
  clientSecret: string;
  setUser(user: FakeGitHubUser | "deny"): void;
  /** Every request's method and path (no tokens). */
  requests: { method: string; path: string }[];
  close(): Promise<void>;
}

export async function startFakeGitHubOAuth(
  options: { host?: string } = {},
): Promise<FakeGitHubOAuth> {
  const clientId = "Iv1.fakeclient0001";
  const clientSecret = `fake-secret-${randomBytes(8).toString("hex")}`;
  let user: FakeGitHubUser | "deny" = { login: "octocat", id: 1, orgs: [], teams: [] };
  const codes = new Map<
    string,
    { user: FakeGitHubUser; challenge: string | null; redirectUri: string | null }
  >();
  const tokens = new Map<string, FakeGitHubUser>();
  const requests: { method: string; path: string }[] = [];

  const send = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
    res.end(JSON.stringify(body));
  };
  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let text = "";
      req.on("data", (d) => {
        text += d;
      });
      req.on("end", () => resolve(text));
    });
  const bearer = (req: IncomingMessage) =>
    /^(?:Bearer|token)\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    requests.push({ method: req.method ?? "GET", path: url.pathname });
    if (req.method === "GET" && url.pathname === "/login/oauth/authorize") {
      const redirect = url.searchParams.get("redirect_uri");
      const state = url.searchParams.get("state");
      if (url.searchParams.get("client_id") !== clientId || !redirect || !state)
        return send(res, 400, { error: "bad authorize request" });
      const back = new URL(redirect);
      back.searchParams.set("state", state);
      if (user === "deny") {
        back.searchParams.set("error", "access_denied");
      } else {
        const code = randomBytes(10).toString("hex");
        codes.set(code, {
          user,
          challenge:
            url.searchParams.get("code_challenge_method") === "S256"
              ? url.searchParams.get("code_challenge")
              : null,
          redirectUri: redirect,
        });
        back.searchParams.set("code", code);
      }
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (req.method === "POST" && url.pathname === "/login/oauth/access_token") {
      const form = new URLSearchParams(await readBody(req));
      const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
      const [id, secret] = basic
        ? Buffer.from(basic, "base64").toString("utf8").split(":")
        : [form.get("client_id"), form.get("client_secret")];
      if (id !== clientId || secret !== clientSecret)
        return send(res, 200, {
          error: "incorrect_client_credentials",
          error_description: "The client_id and/or client_secret passed are incorrect.",
        });
      const code = form.get("code") ?? "";
      const grant = codes.get(code);
      codes.delete(code);
      if (!grant)
        return send(res, 200, {
          error: "bad_verification_code",
          error_description: "The code passed is incorrect or expired.",
        });
      if (grant.challenge) {
        const verifier = form.get("code_verifier") ?? "";
        const computed = createHash("sha256").update(verifier).digest("base64url");
        if (computed !== grant.challenge)
          return send(res, 200, {
            error: "invalid_grant",
            error_description: "PKCE verification failed",
          });
      }
      if (grant.redirectUri && form.get("redirect_uri") !== grant.redirectUri)
        return send(res, 200, { error: "redirect_uri_mismatch" });
      const token = `gho_${randomBytes(16).toString("hex")}`;
      tokens.set(token, grant.user);
      return send(res, 200, { access_token: token, token_type: "bearer", scope: "read:org" });
    }
    const who = tokens.get(bearer(req) ?? "");
    if (!who) return send(res, 401, { message: "Requires authentication" });
    if (req.method === "GET" && url.pathname === "/user")
      return send(res, 200, { login: who.login, id: who.id });
    if (req.method === "GET" && url.pathname === "/user/orgs") {
      const perPage = Number(url.searchParams.get("per_page") ?? 30);
      const page = Number(url.searchParams.get("page") ?? 1);
      const slice = who.orgs.slice((page - 1) * perPage, page * perPage);
      return send(
        res,
        200,
        slice.map((login, i) => ({ login, id: 1000 + i })),
      );
    }
    const team = /^\/orgs\/([^/]+)\/teams\/([^/]+)\/memberships\/([^/]+)$/.exec(url.pathname);
    if (req.method === "GET" && team) {
      const [, org = "", slug = "", login = ""] = team.map((p) => decodeURIComponent(p));
      const member =
        login.toLowerCase() === who.login.toLowerCase() &&
        who.teams.map((t) => t.toLowerCase()).includes(`${org}/${slug}`.toLowerCase());
      return member
        ? send(res, 200, { state: "active", role: "member" })
        : send(res, 404, { message: "Not Found" });
    }
    return send(res, 404, { message: "Not Found" });
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    clientId,
    clientSecret,
    setUser: (next) => {
      user = next;
    },
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
