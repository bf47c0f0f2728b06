import { readFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { CliContext } from "../../lib/cli/context";
import { buildProgram } from "../../lib/cli/main";
import { VARIABLES } from "../../lib/config/schema";

/** The deployment guide cannot drift from the code: its variables and its commands are checked. */
const ROOT = path.resolve(import.meta.dirname, "..", "..");
const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");

describe("docs/deploy.md", () => {
  const guide = read("docs/deploy.md");
  const tableNames = [...guide.matchAll(/^\| `([A-Z][A-Z0-9_]+)`/gm)].map((m) => m[1] as string);

  it("has a row for every variable Ballast reads", () => {
    const missing = Object.keys(VARIABLES).filter((name) => !tableNames.includes(name));
    expect(missing, "add these to the table in docs/deploy.md").toEqual([]);
  });

  it("has no row for a variable Ballast does not read, and no duplicate row", () => {
    const unknown = tableNames.filter((name) => !(name in VARIABLES));
    expect(unknown, "remove or rename these in docs/deploy.md").toEqual([]);
    expect(new Set(tableNames).size).toBe(tableNames.length);
  });

  it("gates a deployment on validate-env in production mode with connection checks", () => {
    expect(guide).toMatch(/npx ballast validate-env --mode production [^\n]*--check-connections/);
  });
});

describe("the commands the guides and the README show", () => {
  const program = buildProgram(new CliContext({ out() {}, err() {}, interactive: false }));
  const find = (parent: Command, name: string) => parent.commands.find((c) => c.name() === name);

  for (const file of ["docs/deploy.md", "docs/capacity.md", "README.md"]) {
    it(`exist with the options used in ${file}`, () => {
      const problems: string[] = [];
      for (const match of read(file).matchAll(/npx ballast ([a-z][a-z-]*)((?: [^`\n|]*)?)/g)) {
        const name = match[1] as string;
        const rest = (match[2] ?? "").trim();
        const command = find(program, name);
        if (!command) {
          problems.push(`no command "${name}"`);
          continue;
        }
        const sub = /^([a-z][a-z-]*)\b/.exec(rest)?.[1];
        const target = (sub && find(command, sub)) || command;
        for (const flag of rest.match(/--[a-z][a-z-]*/g) ?? []) {
          const known = [...target.options, ...program.options].some((o) => o.long === flag);
          if (!known && flag !== "--help")
            problems.push(`"${name}${sub ? ` ${sub}` : ""}" has no option ${flag}`);
        }
      }
      expect(problems).toEqual([]);
    });
  }
});
