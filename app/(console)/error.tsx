"use client";

/** Any error while rendering a console page: said in the page, with a way to try again. */
export default function ConsoleError({
  error,
  reset,
}: {
  error: Error & { digest?: string };
  reset: () => void;
}) {
  return (
    <div className="notice-error" role="alert">
      <h1 className="text-lg font-semibold">This page could not be shown</h1>
      <p className="mt-2">
        The server could not load what this page needs (the database or another backend may be down;
        the Overview shows which). Nothing was changed.
        {error.digest ? (
          <>
            {" "}
            Reference for the server log: <code>{error.digest}</code>.
          </>
        ) : null}
      </p>
      <button type="button" className="btn-secondary mt-3" onClick={() => reset()}>
        Try again
      </button>
    </div>
  );
}
