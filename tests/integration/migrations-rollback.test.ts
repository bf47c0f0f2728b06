import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { is, sql } from "drizzle-orm";
import { getTableConfig, PgTable } from "drizzle-orm/pg-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../db/client";
import { checkExpandContract, statementsOf } from "../../db/migration-rules";
import * as currentSchema from "../../db/schema";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

/**
 * Safe rollback: the previous release must keep working on the database this release migrated
 * (Vercel's instant rollback swaps the code back, never the schema).
 *
 * 1. Statically, over every file in db/migrations: expand only, or a file marked
 *    `-- ballast:contract <reason>` (db/migration-rules.ts says what counts).
 * 2. Dynamically: the previous release's db/schema, taken from git, reads every column of every
 *    table it declares from a database migrated with THIS commit's migrations. The previous
 *    release is BALLAST_PREVIOUS_RELEASE (any git revision) when set, else the newest v* tag
 *    before HEAD, else the schema as it was before the most recent change to db/schema or
 *    db/migrations (HEAD itself when the working tree changes them) — what a rollback from
 *    this release would return to at worst.
 */
const ROOT = path.resolve(import.meta.dirname, "..", "..");
const MIGRATIONS = path.join(ROOT, "db", "migrations");

function git(...args: string[]): string {
  return execFileSync("git", args, {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

function tryGit(...args: string[]): string | undefined {
  try {
    return git(...args);
  } catch {
    return undefined;
  }
}

/** The previous release's revision and why it was chosen, or why there is none. */
function previousRelease(): { rev: string; why: string } | { skip: string } {
  if (tryGit("rev-parse", "--is-inside-work-tree") !== "true")
    return { skip: "not a git checkout" };
  if (tryGit("rev-parse", "--is-shallow-repository") === "true")
    return { skip: "a shallow clone has no previous release to read (fetch with full history)" };
  const pinned = process.env.BALLAST_PREVIOUS_RELEASE;
  if (pinned) {
    const rev = tryGit("rev-parse", "--verify", `${pinned}^{commit}`);
    if (!rev)
      throw new Error(`BALLAST_PREVIOUS_RELEASE=${pinned} is not a revision of this repository`);
    return { rev, why: `BALLAST_PREVIOUS_RELEASE=${pinned}` };
  }
  const tag = tryGit("describe", "--tags", "--abbrev=0", "--match", "v*", "HEAD^");
  if (tag)
    return { rev: git("rev-parse", `${tag}^{commit}`), why: `the newest release tag ${tag}` };
  const changedHere = tryGit("status", "--porcelain", "--", "db/schema", "db/migrations");
  if (changedHere)
    return { rev: git("rev-parse", "HEAD"), why: "HEAD (the working tree changes the schema)" };
  const last = tryGit("log", "-1", "--format=%H", "--", "db/schema", "db/migrations");
  if (!last) return { skip: "db/schema has no history" };
  const parent = tryGit("rev-parse", "--verify", `${last}^`);
  if (!parent)
    return { skip: `${last.slice(0, 12)} created the schema: there is no earlier release` };
  return {
    rev: parent,
    why: `the parent of ${last.slice(0, 12)}, the last commit that changed the schema`,
  };
}

/** Selects every declared column of every table of `schema`: the failures, by table. */
async function readEveryTable(
  db: Database,
  schema: Record<string, unknown>,
): Promise<{ tables: string[]; failures: string[] }> {
  const tables = Object.values(schema).filter((v): v is PgTable => is(v, PgTable));
  const failures: string[] = [];
  for (const table of tables) {
    try {
      await db.select().from(table).limit(1);
    } catch (error) {
      const cause =
        (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
      failures.push(`${getTableConfig(table).name}: ${cause.split("\n")[0]}`);
    }
  }
  return { tables: tables.map((t) => getTableConfig(t).name).sort(), failures };
}

function migrationFiles(): [string, string][] {
  return readdirSync(MIGRATIONS)
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .map((f) => [f, readFileSync(path.join(MIGRATIONS, f), "utf8")]);
}

describe("migrations are expand/contract", () => {
  it("no migration drops, renames or tightens what the previous release uses, unless marked as a contract step", () => {
    const files = migrationFiles();
    expect(files.length).toBeGreaterThan(0);
    const violations = checkExpandContract(files);
    expect(violations.map((v) => `${v.file}: ${v.rule}: ${v.statement}`)).toEqual([]);
  });

  it("catches each kind of contract step, and lets expansions through", () => {
    const base = `CREATE TABLE "items" ("id" uuid PRIMARY KEY, "name" text NOT NULL);--> statement-breakpoint
CREATE UNIQUE INDEX "items_name_key" ON "items" USING btree ("name");`;
    const flagged = (sql: string) =>
      checkExpandContract([
        ["0000_base.sql", base],
        ["0001_next.sql", sql],
      ]).map((v) => v.rule);
    const contract: [string, RegExp][] = [
      ['DROP TABLE "items";', /drops a table/],
      ['DROP VIEW "items_view";', /drops a table, view/],
      ['ALTER TABLE "items" DROP COLUMN "name";', /drops a column/],
      ["ALTER TABLE items DROP name;", /drops a column/],
      ['ALTER TABLE "items" RENAME COLUMN "name" TO "title";', /renames/],
      ['ALTER TABLE "items" RENAME TO "things";', /renames/],
      ['ALTER TABLE "items" ALTER COLUMN "name" SET DATA TYPE varchar(20);', /type/],
      ['ALTER TABLE "items" ALTER COLUMN "name" TYPE integer USING 0;', /type/],
      ['ALTER TABLE "items" ALTER COLUMN "name" SET NOT NULL;', /NOT NULL/],
      [
        'ALTER TABLE "items" ADD COLUMN "owner" text NOT NULL;',
        /NOT NULL column without a default/,
      ],
      [
        'ALTER TABLE "items" ADD CONSTRAINT "items_name_check" CHECK (length("name") < 10);',
        /adds a constraint/,
      ],
      [
        'CREATE UNIQUE INDEX "items_id_name" ON "items" ("id", "name");',
        /unique index to an existing table/,
      ],
      ['ALTER TABLE "items" DROP CONSTRAINT "items_pkey";', /drops a constraint/],
      ['DROP INDEX "items_name_key";', /drops a unique index/],
      ['TRUNCATE "items";', /deletes rows/],
      ['DELETE FROM "items";', /deletes rows/],
    ];
    for (const [statement, rule] of contract) {
      const rules = flagged(statement);
      expect(rules.length, statement).toBeGreaterThan(0);
      expect(rules.join("; "), statement).toMatch(rule);
    }
    const expansions = [
      'CREATE TABLE "jobs" ("id" uuid PRIMARY KEY, "state" text NOT NULL, CONSTRAINT "jobs_state_check" CHECK ("state" in (\'a\')));--> statement-breakpoint\nCREATE UNIQUE INDEX "jobs_key" ON "jobs" ("state");',
      'ALTER TABLE "items" ADD COLUMN "note" text;',
      'ALTER TABLE "items" ADD COLUMN "count" integer DEFAULT 0 NOT NULL;',
      'ALTER TABLE "items" ALTER COLUMN "name" DROP NOT NULL;',
      'CREATE INDEX IF NOT EXISTS "items_note_idx" ON "items" ("note");',
      'ALTER TABLE "items" SET (fillfactor = 80);',
      'DROP INDEX "items_note_idx";',
      'DELETE FROM "items" WHERE "name" = \'x\';',
      "-- DROP TABLE items; (a comment)\nSELECT 1;",
    ];
    for (const statement of expansions) expect(flagged(statement), statement).toEqual([]);
    // A file marked as a contract step may contract.
    expect(
      flagged(
        '-- ballast:contract items.name unread since release v3 (reads moved to title)\nALTER TABLE "items" DROP COLUMN "name";',
      ),
    ).toEqual([]);
    // A bare marker without a reason does not count.
    expect(flagged('-- ballast:contract\nALTER TABLE "items" DROP COLUMN "name";')).not.toEqual([]);
  });

  it("splits drizzle's statement breakpoints and semicolons, without comments", () => {
    expect(
      statementsOf(
        'CREATE TABLE "a" ("x" int);--> statement-breakpoint\n-- note\nALTER TABLE "a" ADD COLUMN "y" int; /* c */',
      ),
    ).toEqual(['CREATE TABLE "a" ("x" int)', 'ALTER TABLE "a" ADD COLUMN "y" int']);
  });
});

describe("the previous release reads a database migrated by this one", () => {
  const previous = previousRelease();
  let runtime: TestRuntime;
  let extracted: string | undefined;

  beforeAll(async () => {
    runtime = await createTestRuntime();
  });

  afterAll(async () => {
    await runtime?.close();
    if (extracted) rmSync(extracted, { recursive: true, force: true });
  });

  it.skipIf("skip" in previous)(
    `reads every column of every table of its schema (${"skip" in previous ? previous.skip : previous.why})`,
    async () => {
      if ("skip" in previous) return;
      // The previous release's db/schema, extracted inside the project so it resolves the same
      // drizzle-orm; read against this commit's migrations (createTestRuntime migrated it).
      extracted = path.join(ROOT, ".data", "rollback-check", previous.rev.slice(0, 12));
      rmSync(extracted, { recursive: true, force: true });
      mkdirSync(extracted, { recursive: true });
      const tar = path.join(extracted, "schema.tar");
      git("archive", "--format=tar", "-o", tar, previous.rev, "db/schema");
      execFileSync("tar", ["-xf", tar, "-C", extracted]);
      const entry = path.join(extracted, "db", "schema", "index.ts");
      expect(existsSync(entry), `${previous.rev} has no db/schema/index.ts`).toBe(true);
      const oldSchema = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
      const result = await readEveryTable(runtime.db, oldSchema);
      expect(result.tables.length).toBeGreaterThan(0);
      expect(result.failures).toEqual([]);
    },
    60_000,
  );

  it("fails when a migration renamed a column the previous release reads", async () => {
    const other = await createTestRuntime();
    try {
      await other.db.execute(sql`alter table sources rename column cursor_commit to cursor_sha`);
      await other.db.execute(sql`drop table audit_log`);
      const result = await readEveryTable(other.db, currentSchema);
      expect(result.failures.join("\n")).toMatch(/^sources: .*cursor_commit/m);
      expect(result.failures.join("\n")).toMatch(/^audit_log: .*audit_log/m);
      expect(result.failures).toHaveLength(2);
    } finally {
      await other.close();
    }
  });
});
