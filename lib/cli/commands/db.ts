import path from "node:path";
import type { Command } from "commander";
import { openDatabase } from "../../../db/client";
import { getConfig } from "../../config";
import type { CliContext } from "../context";

export function registerDbCommands(program: Command, ctx: CliContext): void {
  const db = program.command("db").description("database maintenance");
  db.command("migrate")
    .description("apply pending migrations to the configured database (PGlite, Neon or Postgres)")
    .action(async () => {
      const config = getConfig();
      const handle = await openDatabase(config.database, {
        migrate: false,
        migrationsFolder: ctx.root ? path.join(ctx.root, "db", "migrations") : undefined,
      });
      try {
        await handle.migrate();
        ctx.io.out(`✓ migrations applied to ${handle.driver} at ${handle.location}`);
      } finally {
        await handle.close();
      }
    });
}
