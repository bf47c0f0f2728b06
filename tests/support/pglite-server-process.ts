/**
 * The embedded database served as the app serves it (PGlite in a worker thread, over the
 * Postgres wire protocol on a Unix socket), in a process of its own so a test can kill it
 * like a database server going away. Usage: `node --import tsx pglite-server-process.ts DIR`.
 * Prints one JSON line `{"ready":true,"socketPath":…}` once migrated and listening; exits
 * cleanly on SIGTERM.
 */
import path from "node:path";
import { embeddedSocket, openPglite } from "../../db/pglite";

const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: pglite-server-process.ts DATA_DIR\n");
  process.exit(2);
}
const handle = await openPglite(dir, path.resolve("db/migrations"), { serve: true });
await handle.migrate();
process.stdout.write(
  `${JSON.stringify({ ready: true, socketPath: embeddedSocket(dir).socketPath })}\n`,
);
process.once("SIGTERM", () => {
  handle.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
