import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { rowsOf } from "../../db/client";
import { openPglite, PGLITE_SHARED_BUFFERS } from "../../db/pglite";

const MIGRATIONS = path.resolve("db/migrations");

/** Ballast's PGlite settings hold however the embedded database is opened. */
describe("embedded database settings", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  for (const [label, where, serve] of [
    ["in memory", "memory", false],
    ["in this process", "dir", false],
    ["served from a worker thread (the app)", "dir", true],
  ] as const) {
    it(`shared_buffers is ${PGLITE_SHARED_BUFFERS} ${label}`, async () => {
      let dir = "memory://";
      if (where === "dir") {
        dir = path.join(await mkdtemp(path.join(tmpdir(), "ballast-pglite-settings-")), "pglite");
        dirs.push(path.dirname(dir));
      }
      const handle = await openPglite(dir, MIGRATIONS, { serve });
      try {
        const [row] = rowsOf<{ shared_buffers: string }>(
          await handle.db.execute(sql`show shared_buffers`),
        );
        expect(row?.shared_buffers).toBe(PGLITE_SHARED_BUFFERS);
      } finally {
        await handle.close();
      }
    });
  }
});
