import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Every `ballast` run registers every command (for --help and argument errors), so the modules
 * that define them import only light modules at the top; a command's implementation (lib/,
 * db/, drizzle, zod, the SDKs) is imported inside its action, when it runs. A value import of
 * anything else here would load it into every CLI process, --help included.
 */
const CLI = path.join(import.meta.dirname, "../../lib/cli");
const LIGHT = [
  /^node:/,
  /^commander$/,
  /^cli-table3$/,
  /^\.\.?\/(\.\.\/)?errors$/,
  /^\.\.\/(args|choices|context|output)$/,
  /^\.\/(args|choices|context|output)$/,
  /^\.\/commands\/[a-z-]+$/,
  // Value lists that import nothing (lib/cli/choices.ts).
  /^\.\.\/\.\.\/db\/schema\/values$/,
  /^\.\.\/config\/modes$/,
  /^\.\.\/retention\/dataset-prefixes$/,
  /^\.\.\/\.\.\/auth\/roles$/,
];
const IMPORT = /^import\s+(type\s+)?([\s\S]*?)\s+from\s+"([^"]+)";/gm;

function files(): string[] {
  const top = readdirSync(CLI).filter((f) => f.endsWith(".ts"));
  const commands = readdirSync(path.join(CLI, "commands")).filter((f) => f.endsWith(".ts"));
  return [
    ...top.map((f) => path.join(CLI, f)),
    ...commands.map((f) => path.join(CLI, "commands", f)),
  ];
}

describe("the CLI's command definitions", () => {
  it("import only light modules at the top; the rest inside their actions", () => {
    const heavy: string[] = [];
    for (const file of files()) {
      for (const match of readFileSync(file, "utf8").matchAll(IMPORT)) {
        const [, typeOnly, names = "", from = ""] = match;
        // `import { type A, type B }` is erased like `import type`.
        const onlyTypes =
          typeOnly !== undefined ||
          (/^\{[\s\S]*\}$/.test(names.trim()) &&
            names
              .trim()
              .slice(1, -1)
              .split(",")
              .map((n) => n.trim())
              .filter(Boolean)
              .every((n) => n.startsWith("type ")));
        if (!onlyTypes && !LIGHT.some((pattern) => pattern.test(from)))
          heavy.push(`${path.relative(CLI, file)}: ${from}`);
      }
    }
    expect(heavy).toEqual([]);
    expect(files().length).toBeGreaterThan(20);
  });

  it("take their value lists from modules that import nothing", () => {
    const valueModules = [
      "db/schema/values.ts",
      "lib/config/modes.ts",
      "lib/retention/dataset-prefixes.ts",
      "lib/errors.ts",
    ];
    const root = path.join(import.meta.dirname, "../..");
    for (const file of valueModules)
      expect(readFileSync(path.join(root, file), "utf8"), file).not.toMatch(
        /^\s*(import|export .* from)\b/m,
      );
    // The role check the keys command runs before the database opens: only those two.
    const roles = readFileSync(path.join(root, "lib/auth/roles.ts"), "utf8");
    expect([...roles.matchAll(IMPORT)].map((m) => m[3])).toEqual([
      "../../db/schema/values",
      "../errors",
    ]);
  });
});
