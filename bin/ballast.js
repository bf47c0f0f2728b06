#!/usr/bin/env -S node --
// The `ballast` command. The CLI is TypeScript; tsx compiles it on the fly, so the checkout
// needs no build step (`npx ballast …`, `npm run ballast -- …`).
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

register();
const { main } = await import("../lib/cli/main.ts");
const root = fileURLToPath(new URL("..", import.meta.url));
process.exitCode = await main(process.argv, undefined, { root });
