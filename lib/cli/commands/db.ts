import type { Command } from "commander";
import type { CliContext } from "../context";

export function registerDbCommands(program: Command, ctx: CliContext): void {
  const db = program.command("db").description("database maintenance");
  db.command("migrate")
    .description("apply pending migrations to the configured database (PGlite, Neon or Postgres)")
    .action(async () => {
      const [{ openDatabase }, { getConfig }] = await Promise.all([
        import("../../../db/client"),
        import("../../config"),
      ]);
      const config = getConfig();
      const handle = await openDatabase(config.database, {
        migrate: false,
        migrationsFolder: ctx.migrationsFolder(),
      });
      try {
        await handle.migrate();
        ctx.io.out(`✓ migrations applied to ${handle.driver} at ${handle.location}`);
      } finally {
        await handle.close();
      }
    });
}
