// Runs s3rver in its own process for tests/support/s3-server.ts. It needs the legacy OpenSSL
// provider (its ListObjectsV2 continuation tokens use DES, which OpenSSL 3 disables), and in
// its own process its crashes cannot take a test worker down.
// Input: one JSON line on stdin { dir, bucket, accessKeyId, secretAccessKey }.
// Output: one JSON line on stdout { port }. Exits when stdin closes or on SIGTERM.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(import.meta.url);
const S3rver = require("s3rver");
const { DUMMY_ACCOUNT } = require("s3rver/lib/models/account");

process.on("uncaughtException", (error) => {
  // s3rver throws from stream callbacks on some requests (e.g. ENAMETOOLONG); keep serving.
  console.error(`s3rver: ${error?.stack ?? error}`);
});

const lines = createInterface({ input: process.stdin });
let server;
lines.once("line", async (line) => {
  const { dir, bucket, accessKeyId, secretAccessKey } = JSON.parse(line);
  DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
  server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    directory: dir,
    silent: true,
    configureBuckets: [{ name: bucket }],
  });
  const address = await server.run();
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});

async function stop() {
  if (server) await server.close().catch(() => undefined);
  process.exit(0);
}
lines.on("close", stop);
process.on("SIGTERM", stop);
