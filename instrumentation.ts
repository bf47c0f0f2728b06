/**
 * Next.js calls this once when the server starts: validate config, print the summary, open
 * backends. NEXT_RUNTIME is inlined by Next at build time (not configuration), so the
 * Node-only start-up code is left out of the edge bundle.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { onServerStart } = await import("./lib/startup");
  await onServerStart();
}
