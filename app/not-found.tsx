import Link from "next/link";

export default function NotFound() {
  return (
    <main className="mx-auto max-w-xl px-4 py-16">
      <p className="muted text-sm font-semibold">404</p>
      <h1 className="mt-2 text-2xl font-semibold">Nothing here</h1>
      <p className="mt-3">
        The page, source or run you asked for does not exist (it may have been removed).
      </p>
      <p className="mt-6">
        <Link href="/">Back to the overview</Link>
      </p>
    </main>
  );
}
