import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    environment: "node",
    pool: "forks",
    // Vitest's run-mode default is one worker per CPU minus one: a single file at a time on a
    // 2-core CI machine, while most files spend their time waiting on child processes (the CLI,
    // next start, redis-server, s3rver). Two files at once; VITEST_MAX_WORKERS overrides.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    setupFiles: ["tests/support/setup.ts"],
  },
});
