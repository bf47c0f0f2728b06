import type { Command } from "commander";
import { ValidationError } from "../../errors";
import { collect } from "../args";
import type { CliContext } from "../context";
import { shortSha, table } from "../output";

/** --max-file-bytes: a whole number in MAX_FILE_BYTES_RANGE, named in the error otherwise. */
async function parseMaxFileBytes(value: string | undefined): Promise<number | undefined> {
  if (value === undefined) return undefined;
  const { checkMaxFileBytes, MAX_FILE_BYTES_RANGE } = await import("../../pipeline/source-records");
  const { min, max } = MAX_FILE_BYTES_RANGE;
  if (!/^\d+$/.test(value.trim()))
    throw new ValidationError(`--max-file-bytes must be a whole number from ${min} to ${max}`, [
      { path: "--max-file-bytes", message: value },
    ]);
  return checkMaxFileBytes(Number(value.trim()), "--max-file-bytes");
}

export function registerSourceCommands(program: Command, ctx: CliContext): void {
  const sources = program.command("sources").description("the repositories Ballast keeps indexed");
  sources
    .command("add <location>")
    .description(
      "add a source: a local git path, a git URL, or a GitHub repository (https://github.com/o/r or github:o/r)",
    )
    .option("--name <name>", "a short name (default: the repository name)")
    .option("--branch <branch>", "branch to index (default: the repository's default branch)")
    .option("--include <glob>", "only index matching paths (repeatable)", collect, [])
    .option("--exclude <glob>", "skip matching paths (repeatable)", collect, [])
    .option("--max-file-bytes <n>", "skip larger files")
    .option("--no-verify", "save it without checking that the repository and branch can be read")
    .action(
      async (
        location: string,
        opts: {
          name?: string;
          branch?: string;
          include: string[];
          exclude: string[];
          maxFileBytes?: string;
          verify: boolean;
        },
      ) => {
        const [{ addSource, parseNewSource }, { redactLocation }] = await Promise.all([
          import("../../pipeline/source-records"),
          import("../../security/redact"),
        ]);
        // The same normalisation as the admin API (one function), with the CLI's own flag names.
        const parsed = parseNewSource({
          location,
          name: opts.name,
          branch: opts.branch,
          include: opts.include,
          exclude: opts.exclude,
          maxFileBytes: await parseMaxFileBytes(opts.maxFileBytes),
        });
        const { db } = await ctx.getRuntime();
        if (opts.verify) {
          const { readerForLocation } = await import("../../pipeline/deps");
          const head = await readerForLocation(await ctx.deps(), parsed).resolveHead();
          if (head.state === "branch-missing")
            throw new ValidationError(
              `branch ${head.branch} does not exist in ${redactLocation(parsed.location)}`,
              [{ path: "--branch", message: "not found" }],
            );
        }
        const source = await addSource(db, parsed);
        const { recordAudit } = await import("../../auth/audit");
        await recordAudit(db, {
          actor: ctx.actor(),
          action: "source.add",
          target: source.name,
          result: "ok",
          details: { kind: source.kind },
        });
        ctx.io.out(
          `✓ added ${source.kind} source "${source.name}" (${redactLocation(source.location)}${source.branch ? `@${source.branch}` : ""})`,
        );
      },
    );
  sources
    .command("list")
    .description("list sources with their cursor and document count")
    .action(async () => {
      const { db } = await ctx.getRuntime();
      const [{ listSources }, { redactLocation }] = await Promise.all([
        import("../../pipeline/source-records"),
        import("../../security/redact"),
      ]);
      const rows = await listSources(db);
      if (rows.length === 0) {
        ctx.io.out("no sources yet: `ballast sources add <path|url>` or `ballast sync <path|url>`");
        return;
      }
      ctx.io.out(
        table(
          [
            "name",
            "kind",
            "location",
            "branch",
            "status",
            "documents",
            "synced commit",
            "synced at",
          ],
          rows.map((s) => [
            s.name,
            s.kind,
            redactLocation(s.location),
            s.branch ?? "(default)",
            s.status,
            s.documentCount,
            shortSha(s.cursorCommit),
            s.cursorAt?.toISOString(),
          ]),
        ),
      );
    });
  sources
    .command("remove <name>")
    .description("remove a source with its runs, documents and chunks")
    .option("--yes", "do not ask (required when not interactive)")
    .action(async (name: string, opts: { yes?: boolean }) => {
      if (!opts.yes)
        throw new ValidationError("removing a source deletes its index; pass --yes to confirm", [
          { path: "--yes", message: "required" },
        ]);
      const { db } = await ctx.getRuntime();
      const [{ removeSource }, { recordAudit }] = await Promise.all([
        import("../../pipeline/source-records"),
        import("../../auth/audit"),
      ]);
      const removed = await removeSource(db, name);
      await recordAudit(db, {
        actor: ctx.actor(),
        action: "source.remove",
        target: removed.source.name,
        result: "ok",
        details: { documents: removed.documents },
      });
      ctx.io.out(`✓ removed "${removed.source.name}" and ${removed.documents} documents`);
    });
}
