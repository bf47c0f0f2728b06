import { CodeChallengeMethod, generateCodeVerifier, generateState, OAuth2Client } from "arctic";
import type { ConsoleConfig, GitHubSubject } from "../config/schema";
import { BallastError, ForbiddenError, UnavailableError } from "../errors";
import type { Role } from "./roles";

/**
 * "Sign in with GitHub": the OAuth 2.0 authorization-code flow with state and PKCE (arctic's
 * OAuth2Client speaks the protocol; the endpoints are GitHub's, under GITHUB_OAUTH_URL), then
 * GitHub's REST API says who signed in and which organisations and teams they belong to, and
 * the allow-list turns that into a role. The access token is used for those few reads and
 * dropped; only the login, id and role are kept (in the session).
 */

export type GitHubSignInConfig = NonNullable<ConsoleConfig["github"]>;

/** read:org lets /user/orgs list private memberships and the team membership check answer. */
export const GITHUB_SCOPES = ["read:org"];

/** Organisations read from /user/orgs at most (pages of 100). */
const MAX_ORG_PAGES = 5;

export interface SignInStart {
  url: string;
  state: string;
  codeVerifier: string;
}

export function beginGitHubSignIn(config: GitHubSignInConfig, redirectUri: string): SignInStart {
  const client = new OAuth2Client(config.clientId, config.clientSecret, redirectUri);
  const state = generateState();
  const codeVerifier = generateCodeVerifier();
  const url = client.createAuthorizationURLWithPKCE(
    `${config.oauthUrl}/login/oauth/authorize`,
    state,
    CodeChallengeMethod.S256,
    codeVerifier,
    GITHUB_SCOPES,
  );
  return { url: url.toString(), state, codeVerifier };
}

export interface GitHubMember {
  login: string;
  id: number;
  role: Role;
}

class SignInRefused extends BallastError {
  constructor(message: string) {
    super("github_signin_failed", message, 400, false);
  }
}

/**
 * Exchanges the code for a token and maps the user to a role. Throws ForbiddenError when the
 * user is on no allow-list, a 400 when GitHub refuses the code, 503 when GitHub is unreachable.
 */
export async function completeGitHubSignIn(
  config: GitHubSignInConfig,
  apiUrl: string,
  input: { code: string; codeVerifier: string; redirectUri: string },
): Promise<GitHubMember> {
  const client = new OAuth2Client(config.clientId, config.clientSecret, input.redirectUri);
  let accessToken: string;
  try {
    const tokens = await client.validateAuthorizationCode(
      `${config.oauthUrl}/login/oauth/access_token`,
      input.code,
      input.codeVerifier,
    );
    accessToken = tokens.accessToken();
  } catch (error) {
    const name = (error as Error).name;
    if (name === "ArcticFetchError")
      throw new UnavailableError(
        "GitHub did not answer the sign-in; try again",
        "github_unavailable",
        {
          cause: error,
        },
      );
    // An OAuth error (bad_verification_code, expired code): the code is spent; start again.
    throw new SignInRefused("GitHub refused the sign-in code; start again");
  }
  const api = githubApi(apiUrl, accessToken);
  const user = await api<{ login: string; id: number }>("/user");
  if (typeof user?.login !== "string" || typeof user.id !== "number")
    throw new SignInRefused("GitHub did not say who signed in");
  const orgs: string[] = [];
  for (let page = 1; page <= MAX_ORG_PAGES; page++) {
    const batch = await api<{ login: string }[]>(`/user/orgs?per_page=100&page=${page}`);
    if (!Array.isArray(batch)) break;
    orgs.push(...batch.map((o) => String(o.login).toLowerCase()));
    if (batch.length < 100) break;
  }
  const teams = new Set<string>();
  const wanted = [...config.roles.admin, ...config.roles.operator, ...config.roles.viewer].filter(
    (s): s is Extract<GitHubSubject, { type: "team" }> => s.type === "team",
  );
  for (const subject of dedupeTeams(wanted)) {
    if (!orgs.includes(subject.org)) continue;
    const membership = await api<{ state?: string }>(
      `/orgs/${encodeURIComponent(subject.org)}/teams/${encodeURIComponent(subject.team)}/memberships/${encodeURIComponent(user.login)}`,
      { allowNotFound: true },
    );
    if (membership?.state === "active") teams.add(`${subject.org}/${subject.team}`);
  }
  const role = roleFor(config.roles, { login: user.login, orgs, teams: [...teams] });
  if (!role)
    throw new ForbiddenError(
      `GitHub user ${user.login} is not on the console's allow-list (ask an admin to add you to GITHUB_SIGNIN_*)`,
    );
  return { login: user.login, id: user.id, role };
}

function dedupeTeams<T extends { org: string; team: string }>(subjects: T[]): T[] {
  const seen = new Set<string>();
  return subjects.filter((s) => {
    const key = `${s.org}/${s.team}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The highest role whose allow-list names the user, one of their organisations or teams. */
export function roleFor(
  roles: GitHubSignInConfig["roles"],
  member: { login: string; orgs: string[]; teams: string[] },
): Role | undefined {
  const login = member.login.toLowerCase();
  const orgs = new Set(member.orgs.map((o) => o.toLowerCase()));
  const teams = new Set(member.teams.map((t) => t.toLowerCase()));
  const matches = (subject: GitHubSubject) =>
    subject.type === "user"
      ? subject.login === login
      : subject.type === "org"
        ? orgs.has(subject.org)
        : teams.has(`${subject.org}/${subject.team}`);
  for (const role of ["admin", "operator", "viewer"] as const)
    if (roles[role].some(matches)) return role;
  return undefined;
}

function githubApi(apiUrl: string, token: string) {
  return async <T>(
    path: string,
    options: { allowNotFound?: boolean } = {},
  ): Promise<T | undefined> => {
    let response: Response;
    try {
      response = await fetch(`${apiUrl}${path}`, {
        headers: {
          accept: "application/vnd.github+json",
          authorization: `Bearer ${token}`,
          "x-github-api-version": "2022-11-28",
          "user-agent": "ballast-console",
        },
        redirect: "error",
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new UnavailableError("GitHub's API did not answer; try again", "github_unavailable", {
        cause: error,
      });
    }
    if (options.allowNotFound && response.status === 404) return undefined;
    if (!response.ok)
      throw new UnavailableError(
        `GitHub's API answered ${response.status} while checking who signed in`,
        "github_unavailable",
      );
    return (await response.json()) as T;
  };
}
