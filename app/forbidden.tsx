import Link from "next/link";

/** Shown (with HTTP 403) when a signed-in operator's role is too low for a page. */
export default function Forbidden() {
  return (
    <main className="mx-auto max-w-xl px-4 py-16">
      <p className="muted text-sm font-semibold">403 — not allowed</p>
      <h1 className="mt-2 text-2xl font-semibold">Your role cannot open this page</h1>
      <p className="mt-3">
        You are signed in, but this page or action needs a higher role (viewers read; operators sync
        and retry; admins add sources and manage keys). Ask an admin for a key with the role you
        need, then sign in with it.
      </p>
      <p className="mt-6 flex gap-4">
        <Link href="/">Back to the overview</Link>
        <Link href="/login">Sign in with another key</Link>
      </p>
    </main>
  );
}
