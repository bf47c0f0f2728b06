import { redirect } from "next/navigation";
import { safeNext } from "../../lib/http/console-auth";
import { getRuntime } from "../../lib/runtime";
import { currentViewer } from "../_lib/session";

export const dynamic = "force-dynamic";
export const metadata = { title: "Sign in" };

const KEY_ERRORS: Record<string, string> = {
  missing: "Enter an API key.",
  invalid: "That key is not valid (unknown, mistyped or revoked).",
  rate_limited: "Too many failed sign-ins from this address. Wait a minute and try again.",
};
const GITHUB_ERRORS: Record<string, string> = {
  github_off: "GitHub sign-in is not configured on this server.",
  github_denied: "GitHub sign-in was cancelled.",
  github_state: "The GitHub sign-in expired or did not start here. Start again.",
  github_not_allowed:
    "Your GitHub account is not on this console's allow-list. Ask an admin to add you.",
  github_unavailable: "GitHub did not answer. Try again in a moment.",
  github_failed: "GitHub refused the sign-in. Start again.",
};

type Search = Promise<Record<string, string | string[] | undefined>>;

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export default async function LoginPage({ searchParams }: { searchParams: Search }) {
  const params = await searchParams;
  const next = safeNext(one(params.next));
  if (await currentViewer()) redirect(next);
  const runtime = await getRuntime();
  const github = runtime.config.console.github !== undefined;
  const error = one(params.error);
  const keyError = error ? KEY_ERRORS[error] : undefined;
  const githubError = error ? GITHUB_ERRORS[error] : undefined;
  const expired = one(params.reason) === "expired";
  const signedOut = one(params.signed_out) === "1";
  return (
    <main className="flex min-h-screen items-center justify-center px-4 py-12">
      <div className="w-full max-w-md">
        <p className="text-center text-sm font-semibold tracking-widest text-accent-700 uppercase dark:text-accent-300">
          Ballast
        </p>
        <h1 className="mt-2 text-center text-2xl font-semibold">Sign in to the console</h1>
        <div className="mt-6 space-y-3" aria-live="polite">
          {expired ? (
            <p className="notice-info">
              Your session ended. Sign in again to go back where you were.
            </p>
          ) : null}
          {signedOut ? <p className="notice-ok">You are signed out.</p> : null}
          {githubError ? (
            <p className="notice-error" role="alert">
              {githubError}
            </p>
          ) : null}
        </div>
        <div className="card mt-4 space-y-6 p-6">
          <form method="post" action="/auth/login" className="space-y-4" noValidate>
            <input type="hidden" name="next" value={next} />
            <div>
              <label htmlFor="key" className="field-label">
                API key
              </label>
              <input
                id="key"
                name="key"
                type="password"
                autoComplete="current-password"
                required
                className="input font-mono"
                placeholder="blst_…"
                aria-invalid={keyError ? true : undefined}
                aria-describedby={keyError ? "key-error key-hint" : "key-hint"}
              />
              {keyError ? (
                <p id="key-error" className="field-error" role="alert">
                  {keyError}
                </p>
              ) : null}
              <p id="key-hint" className="field-hint">
                No key yet? On the server run{" "}
                <code>npx ballast keys create --name you --role admin</code>; it prints the key
                once.
              </p>
            </div>
            <button type="submit" className="btn-primary w-full">
              Sign in with key
            </button>
          </form>
          {github ? (
            <div className="border-t border-slate-200 pt-6 dark:border-slate-800">
              <a
                className="btn-secondary w-full"
                href={`/auth/github?next=${encodeURIComponent(next)}`}
              >
                Sign in with GitHub
              </a>
            </div>
          ) : null}
        </div>
      </div>
    </main>
  );
}
