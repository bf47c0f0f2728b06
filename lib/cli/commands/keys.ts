import type { Command } from "commander";
import { assertRole } from "../../auth/roles";
import { ROLES } from "../choices";
import type { CliContext } from "../context";
import { table } from "../output";

export function registerKeyCommands(program: Command, ctx: CliContext): void {
  const keys = program
    .command("keys")
    .description("admin API keys (stored hashed; a key is shown once)");
  keys
    .command("create")
    .description("create an API key and print it once")
    .requiredOption("--name <name>", "who or what the key is for")
    .option("--role <role>", `one of ${ROLES.join(", ")}`, "admin")
    .action(async (opts: { name: string; role: string }) => {
      assertRole(opts.role); // before the database opens (createApiKey checks it too)
      const { db } = await ctx.getRuntime();
      const [{ createApiKey }, { recordAudit }] = await Promise.all([
        import("../../auth/api-keys"),
        import("../../auth/audit"),
      ]);
      const created = await createApiKey(db, {
        name: opts.name,
        role: opts.role,
        createdBy: ctx.actor(),
      });
      await recordAudit(db, {
        actor: ctx.actor(),
        action: "api_key.create",
        target: created.prefix,
        result: "ok",
        details: { name: created.name, role: created.role },
      });
      ctx.io.out(`✓ ${created.role} key "${created.name}" (id ${created.id})`);
      ctx.io.out("");
      ctx.io.out(`  ${created.key}`);
      ctx.io.out("");
      ctx.io.out("Store it now: it is not shown again. Use it as `Authorization: Bearer <key>`.");
    });
  keys
    .command("list")
    .description("list keys (never their secrets)")
    .action(async () => {
      const { db } = await ctx.getRuntime();
      const { listApiKeys } = await import("../../auth/api-keys");
      const rows = await listApiKeys(db);
      ctx.io.out(
        table(
          ["prefix", "name", "role", "created", "last used", "revoked"],
          rows.map((k) => [
            k.prefix,
            k.name,
            k.role,
            k.createdAt.toISOString(),
            k.lastUsedAt?.toISOString(),
            k.revokedAt?.toISOString(),
          ]),
        ),
      );
    });
  keys
    .command("revoke <idOrPrefix>")
    .description("revoke a key at once")
    .action(async (idOrPrefix: string) => {
      const { db } = await ctx.getRuntime();
      const [{ revokeApiKey }, { recordAudit }] = await Promise.all([
        import("../../auth/api-keys"),
        import("../../auth/audit"),
      ]);
      const revoked = await revokeApiKey(db, idOrPrefix);
      await recordAudit(db, {
        actor: ctx.actor(),
        action: "api_key.revoke",
        target: revoked.prefix,
        result: "ok",
      });
      ctx.io.out(`✓ revoked "${revoked.name}" (${revoked.prefix})`);
    });
}
