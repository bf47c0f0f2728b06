/**
 * Expand/contract, checked over the SQL migrations: a release may only EXPAND the schema
 * (new tables, new nullable or defaulted columns, new indexes, new constraints on its own new
 * tables), so the previous release — still serving during a rolling deploy, or again after an
 * instant rollback on Vercel — keeps reading and writing the database the new release migrated.
 *
 * Anything that takes away or tightens what the previous release uses is a CONTRACT step:
 * dropping or renaming a table, column, constraint, type or function; changing a column's
 * type; making a column NOT NULL; adding a NOT NULL column without a default (the previous
 * release's inserts leave it out); adding a constraint or unique index to an existing table;
 * deleting rows wholesale. A contract step ships in its own migration, in a release after the
 * one that stopped using the thing, and says so on a line of its own:
 *
 *   -- ballast:contract <why it is safe: which release stopped reading it>
 *
 * (see docs/deploy.md, "Safe rollback"). Drizzle-generated SQL and hand-written migrations are
 * checked alike.
 */
export interface MigrationViolation {
  file: string;
  statement: string;
  rule: string;
}

export const CONTRACT_MARKER = /^--[ \t]*ballast:contract[ \t]+\S.{9,}$/m;

/** Statements of a migration file: split on drizzle's breakpoints and on `;`, comments removed. */
export function statementsOf(sql: string): string[] {
  const withoutComments = sql
    .replace(/\/\*[\s\S]*?\*\//g, " ")
    .split("\n")
    .map((line) => line.replace(/--.*$/, ""))
    .join("\n");
  return withoutComments
    .split(/;|\n\s*-->\s*statement-breakpoint/)
    .map((s) => s.replace(/\s+/g, " ").trim())
    .filter((s) => s !== "");
}

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)`;
const QUALIFIED = String.raw`${IDENT}(?:\s*\.\s*${IDENT})?`;
const unquote = (name: string) =>
  name
    .replace(/^.*\.\s*/, "")
    .replace(/^"|"$/g, "")
    .toLowerCase();

interface Rule {
  name: string;
  test: (
    statement: string,
    context: { tablesCreatedHere: Set<string>; uniqueIndexes: Set<string> },
  ) => boolean;
}

const alterTable = new RegExp(
  String.raw`^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?(${QUALIFIED})\s+(.*)$`,
  "i",
);

/** The comma-separated actions of an ALTER TABLE (commas inside parentheses kept). */
function actionsOf(statement: string): string[] {
  const match = alterTable.exec(statement);
  if (match?.[2] === undefined) return [];
  return match[2].split(/,(?![^()]*\))/).map((a) => a.trim());
}

function alterOfExisting(statement: string, here: Set<string>): string | null {
  const match = alterTable.exec(statement);
  if (!match?.[1] || match[2] === undefined) return null;
  return here.has(unquote(match[1])) ? null : match[2];
}

const RULES: Rule[] = [
  {
    name: "drops a table, view, type, schema, function or sequence the previous release may use",
    test: (s) =>
      /^DROP (?:TABLE|VIEW|MATERIALIZED VIEW|TYPE|SCHEMA|FUNCTION|SEQUENCE|DOMAIN)\b/i.test(s),
  },
  {
    name: "drops a column",
    test: (s) =>
      actionsOf(s).some(
        (a) => /^DROP (?:COLUMN )?(?!CONSTRAINT\b)/i.test(a) && !/^DROP CONSTRAINT\b/i.test(a),
      ),
  },
  {
    name: "renames a table, column or constraint",
    test: (s) => /^ALTER (?:TABLE|VIEW|TYPE|SEQUENCE|INDEX)\b.*\bRENAME\b/i.test(s),
  },
  {
    name: "changes a column's type",
    test: (s) => alterTable.test(s) && /\bALTER (?:COLUMN )?\S+ (?:SET DATA )?TYPE\b/i.test(s),
  },
  {
    name: "makes an existing column NOT NULL (the previous release may insert without it)",
    test: (s) => alterTable.test(s) && /\bALTER (?:COLUMN )?\S+ SET NOT NULL\b/i.test(s),
  },
  {
    name: "adds a NOT NULL column without a default to an existing table (the previous release's inserts leave it out)",
    test: (s, { tablesCreatedHere }) => {
      const rest = alterOfExisting(s, tablesCreatedHere);
      if (rest === null) return false;
      return rest
        .split(/,(?![^()]*\))/)
        .some(
          (part) =>
            /^\s*ADD (?:COLUMN )?/i.test(part) &&
            !/^\s*ADD (?:CONSTRAINT|PRIMARY|UNIQUE|FOREIGN|CHECK)\b/i.test(part) &&
            /\bNOT NULL\b/i.test(part) &&
            !/\bDEFAULT\b|\bGENERATED\b/i.test(part),
        );
    },
  },
  {
    name: "adds a constraint to an existing table (rows the previous release writes may break it)",
    test: (s, { tablesCreatedHere }) => {
      const rest = alterOfExisting(s, tablesCreatedHere);
      return (
        rest !== null && /\bADD (?:CONSTRAINT|PRIMARY KEY|UNIQUE|FOREIGN KEY|CHECK)\b/i.test(rest)
      );
    },
  },
  {
    name: "adds a unique index to an existing table (rows the previous release writes may break it)",
    test: (s, { tablesCreatedHere }) => {
      const match = new RegExp(
        `^CREATE UNIQUE INDEX (?:CONCURRENTLY )?(?:IF NOT EXISTS )?(?:${IDENT} )?ON (?:ONLY )?(${QUALIFIED})`,
        "i",
      ).exec(s);
      return match?.[1] !== undefined && !tablesCreatedHere.has(unquote(match[1]));
    },
  },
  {
    name: "drops a constraint (a unique or primary key the previous release's upserts rely on)",
    test: (s) => alterTable.test(s) && /\bDROP CONSTRAINT\b/i.test(s),
  },
  {
    name: "drops a unique index (the previous release's upserts may rely on it)",
    test: (s, { uniqueIndexes }) => {
      const match = new RegExp(
        `^DROP INDEX (?:CONCURRENTLY )?(?:IF EXISTS )?(${QUALIFIED})`,
        "i",
      ).exec(s);
      return match?.[1] !== undefined && uniqueIndexes.has(unquote(match[1]));
    },
  },
  {
    name: "deletes rows wholesale",
    test: (s) => /^TRUNCATE\b/i.test(s) || /^DELETE FROM \S+\s*$/i.test(s),
  },
];

/**
 * The violations in `files` (name → SQL, in the order they apply). A file carrying the
 * contract marker is exempt. Tables created, and unique indexes created, in earlier files or
 * earlier in the same file are tracked so "existing table" means one the previous release had.
 */
export function checkExpandContract(files: [string, string][]): MigrationViolation[] {
  const violations: MigrationViolation[] = [];
  const uniqueIndexes = new Set<string>();
  for (const [file, sql] of files) {
    const contract = CONTRACT_MARKER.test(sql);
    const tablesCreatedHere = new Set<string>();
    for (const statement of statementsOf(sql)) {
      const created = new RegExp(`^CREATE TABLE (?:IF NOT EXISTS )?(${QUALIFIED})`, "i").exec(
        statement,
      );
      if (created?.[1]) tablesCreatedHere.add(unquote(created[1]));
      const unique = new RegExp(
        `^CREATE UNIQUE INDEX (?:CONCURRENTLY )?(?:IF NOT EXISTS )?(${IDENT}) ON`,
        "i",
      ).exec(statement);
      if (unique?.[1]) uniqueIndexes.add(unquote(unique[1]));
      if (contract) continue;
      for (const rule of RULES)
        if (rule.test(statement, { tablesCreatedHere, uniqueIndexes }))
          violations.push({ file, statement: statement.slice(0, 300), rule: rule.name });
    }
  }
  return violations;
}
