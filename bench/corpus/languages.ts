import type { Random } from "./random";
import {
  ADJECTIVES,
  camel,
  capitalize,
  identifierWords,
  NOUNS,
  PEOPLE,
  paragraph,
  pascal,
  QUALIFIERS,
  sentence,
  snake,
  TOPICS,
  upperSnake,
  VERBS,
  wrap,
} from "./vocabulary";

/**
 * Generators of realistic source files: TypeScript, Python, Go and Markdown. Each file is a
 * header followed by top-level blocks (declarations, sections) until it reaches its target
 * size, so sizes follow whatever distribution the caller draws.
 */

export type Language = "typescript" | "python" | "go" | "markdown";

export const EXTENSIONS: Record<Language, string> = {
  typescript: "ts",
  python: "py",
  go: "go",
  markdown: "md",
};

interface FileContext {
  rng: Random;
  /** The file's subject, used in names and comments. */
  subject: string[];
  /** Names declared in this file, for calls between them. */
  functions: string[];
  types: string[];
  fields: string[];
}

function context(rng: Random): FileContext {
  const subject = identifierWords(rng, "type");
  const fields: string[] = [];
  for (let i = 0; i < 10; i++) fields.push(camel(identifierWords(rng, "value")));
  return { rng, subject, functions: [], types: [], fields };
}

/** Emits lines until the text reaches `target` characters (at least one block). */
function fill(
  target: number,
  header: string[],
  block: () => string[],
  footer: string[] = [],
): string {
  const lines = [...header];
  let size = lines.reduce((n, l) => n + l.length + 1, 0);
  const footerSize = footer.reduce((n, l) => n + l.length + 1, 0);
  let blocks = 0;
  while (blocks === 0 || size + footerSize < target) {
    const next = block();
    const added = next.reduce((n, l) => n + l.length + 1, 1);
    // Keep whichever is closer to the target: without this block, or with it.
    if (blocks > 0 && size + footerSize + added - target > target - size - footerSize) break;
    lines.push("", ...next);
    size += added;
    blocks++;
  }
  lines.push(...footer);
  return `${lines.join("\n")}\n`;
}

export function generateFile(language: Language, rng: Random, target: number): string {
  switch (language) {
    case "typescript":
      return typescriptFile(rng, target);
    case "python":
      return pythonFile(rng, target);
    case "go":
      return goFile(rng, target);
    case "markdown":
      return markdownFile(rng, target);
  }
}

// ------------------------------------------------------------------------------- TypeScript

const TS_TYPES = ["string", "number", "boolean", "Date", "string[]", "Record<string, number>"];

function tsType(c: FileContext): string {
  if (c.types.length > 0 && c.rng.chance(0.35)) return c.rng.pick(c.types);
  return c.rng.pick(TS_TYPES);
}

function tsExpr(c: FileContext, vars: string[]): string {
  const { rng } = c;
  const v = vars.length > 0 ? rng.pick(vars) : "input";
  const field = rng.pick(c.fields);
  return rng.pick([
    () => `${v}.${field} ?? ${rng.int(0, 5000)}`,
    () => `new Map<string, ${tsType(c)}>()`,
    () => `${v}.${field}.filter((item) => item.${rng.pick(c.fields)} > ${rng.int(1, 300)})`,
    () => `\`${rng.pick(NOUNS)}:\${${v}.${field}}\``,
    () => `Math.min(${v}.${field}, ${upperSnake(identifierWords(rng, "value"))})`,
    () => `${camel(identifierWords(rng, "function"))}(${v}, { ${field}: ${rng.chance(0.5)} })`,
    () => `Object.keys(${v}).length * ${rng.int(2, 64)}`,
    () =>
      `${v}.${field}.map((entry) => entry.${rng.pick(c.fields)}).join("${rng.pick([",", ";", "/", ":"])}")`,
  ])();
}

function tsStatements(
  c: FileContext,
  vars: string[],
  indent: string,
  depth: number,
  async: boolean,
): string[] {
  const { rng } = c;
  const out: string[] = [];
  const count = rng.int(2, depth === 0 ? 9 : 4);
  for (let i = 0; i < count; i++) {
    const kind = rng.weighted<string>([
      ["const", 5],
      ["await", 3],
      ["log", 2],
      ["comment", 2],
      ["assign", 2],
      ["if", depth < 2 ? 3 : 0],
      ["for", depth < 2 ? 2 : 0],
      ["try", depth < 1 ? 1 : 0],
    ]);
    const v = vars.length > 0 ? rng.pick(vars) : "input";
    switch (kind) {
      case "const": {
        const name = camel(identifierWords(rng, "value"));
        out.push(`${indent}const ${name} = ${tsExpr(c, vars)};`);
        vars.push(name);
        break;
      }
      case "await": {
        const name = camel(identifierWords(rng, "value"));
        const callee =
          c.functions.length > 0 && rng.chance(0.5)
            ? rng.pick(c.functions)
            : `this.${camel(identifierWords(rng, "function"))}`;
        out.push(
          `${indent}const ${name} = ${async ? "await " : ""}${callee}(${v}, ${rng.int(1, 100)});`,
        );
        vars.push(name);
        break;
      }
      case "log":
        out.push(
          `${indent}logger.${rng.pick(["debug", "info", "warn"])}("${rng.pick(VERBS)} ${rng.pick(NOUNS)} ${rng.pick(QUALIFIERS)}", { ${v} });`,
        );
        break;
      case "comment":
        for (const line of wrap(sentence(rng), 96, `${indent}// `)) out.push(line);
        break;
      case "assign":
        out.push(`${indent}${v}.${rng.pick(c.fields)} = ${tsExpr(c, vars)};`);
        break;
      case "if":
        out.push(
          `${indent}if (${rng.pick([`!${v}`, `${v}.length > ${rng.int(1, 64)}`, `${v}.${rng.pick(c.fields)} === "${rng.pick(ADJECTIVES)}"`, `${v} instanceof ${rng.pick(c.types.length > 0 ? c.types : ["Error"])}`])}) {`,
          ...tsStatements(c, [...vars], `${indent}  `, depth + 1, async),
          `${indent}}`,
        );
        break;
      case "for": {
        const item = camel([rng.pick(NOUNS)]);
        out.push(
          `${indent}for (const ${item} of ${v}.${rng.pick(c.fields)}) {`,
          ...tsStatements(c, [...vars, item], `${indent}  `, depth + 1, async),
          `${indent}}`,
        );
        break;
      }
      case "try":
        out.push(
          `${indent}try {`,
          ...tsStatements(c, [...vars], `${indent}  `, depth + 1, async),
          `${indent}} catch (error) {`,
          `${indent}  logger.error("${rng.pick(VERBS)} ${rng.pick(NOUNS)} failed", { error });`,
          `${indent}  throw new ${pascal([rng.pick(NOUNS), "error"])}(\`cannot ${rng.pick(VERBS)} \${${v}}\`, { cause: error });`,
          `${indent}}`,
        );
        break;
    }
  }
  return out;
}

function tsDoc(c: FileContext, indent: string, params: string[]): string[] {
  const { rng } = c;
  const lines = [`${indent}/**`];
  for (const l of wrap(paragraph(rng, rng.int(1, 3)), 96, `${indent} * `)) lines.push(l);
  if (params.length > 0 && rng.chance(0.6)) {
    lines.push(`${indent} *`);
    for (const p of params)
      lines.push(`${indent} * @param ${p} The ${rng.pick(ADJECTIVES)} ${rng.pick(NOUNS)}.`);
  }
  lines.push(`${indent} */`);
  return lines;
}

function tsParams(c: FileContext): { names: string[]; text: string } {
  const names: string[] = [];
  const parts: string[] = [];
  for (let i = 0; i < c.rng.int(1, 3); i++) {
    const name = camel(identifierWords(c.rng, "value"));
    if (names.includes(name)) continue;
    names.push(name);
    parts.push(`${name}: ${tsType(c)}`);
  }
  return { names, text: parts.join(", ") };
}

function tsFunction(c: FileContext, indent = "", method = false): string[] {
  const { rng } = c;
  const name = camel(identifierWords(rng, "function"));
  const params = tsParams(c);
  const returns = rng.chance(0.6) ? `Promise<${tsType(c)}>` : tsType(c);
  const async = returns.startsWith("Promise") ? "async " : "";
  const head = method
    ? `${indent}${rng.chance(0.2) ? "private " : ""}${async}${name}(${params.text}): ${returns} {`
    : `${indent}export ${async}function ${name}(${params.text}): ${returns} {`;
  const vars = [...params.names];
  const body = tsStatements(c, vars, `${indent}  `, 0, async !== "");
  if (!method) c.functions.push(name);
  return [
    ...(rng.chance(0.7) ? tsDoc(c, indent, params.names) : []),
    head,
    ...body,
    `${indent}  return ${rng.chance(0.5) ? rng.pick(vars) : `{ ${rng.pick(c.fields)}: ${rng.pick(vars)}, ${rng.pick(c.fields)}: ${rng.int(0, 999)} }`};`,
    `${indent}}`,
  ];
}

function tsInterface(c: FileContext): string[] {
  const { rng } = c;
  const name = pascal(identifierWords(rng, "type"));
  const lines = [...(rng.chance(0.6) ? tsDoc(c, "", []) : []), `export interface ${name} {`];
  for (let i = 0; i < rng.int(3, 9); i++) {
    if (rng.chance(0.3)) lines.push(`  /** ${sentence(rng)} */`);
    lines.push(
      `  ${rng.chance(0.2) ? "readonly " : ""}${rng.pick(c.fields)}${rng.chance(0.3) ? "?" : ""}: ${tsType(c)};`,
    );
  }
  lines.push("}");
  c.types.push(name);
  return lines;
}

function tsClass(c: FileContext): string[] {
  const { rng } = c;
  const name = pascal([
    ...(c.types.length === 0 ? c.subject : identifierWords(rng, "type")),
    rng.pick(["Service", "Store", "Client", "Manager", "Worker", "Repository"]),
  ]);
  const lines = [
    ...tsDoc(c, "", []),
    `export class ${name}${rng.chance(0.3) ? ` extends ${pascal(["base", rng.pick(NOUNS)])}` : ""} {`,
    `  private readonly ${camel([rng.pick(NOUNS), "cache"])} = new Map<string, ${tsType(c)}>();`,
    `  private ${camel([rng.pick(ADJECTIVES), rng.pick(NOUNS)])} = ${rng.int(0, 100)};`,
    "",
    `  constructor(private readonly ${camel([rng.pick(NOUNS), "repository"])}: ${pascal([rng.pick(NOUNS), "repository"])}) {}`,
  ];
  for (let i = 0; i < rng.int(1, 4); i++) lines.push("", ...tsFunction(c, "  ", true));
  lines.push("}");
  c.types.push(name);
  return lines;
}

function typescriptFile(rng: Random, target: number): string {
  const c = context(rng);
  const header: string[] = [];
  if (rng.chance(0.3)) header.push(`// ${sentence(rng)}`, "");
  for (let i = 0; i < rng.int(1, 6); i++) {
    const names = [pascal(identifierWords(rng, "type")), camel(identifierWords(rng, "function"))];
    const from = rng.chance(0.4)
      ? rng.pick(["node:crypto", "node:path", "zod", "drizzle-orm", "pino", "p-retry"])
      : `${rng.pick(["../", "./", "../../"])}${rng.pick(NOUNS)}/${rng.pick(NOUNS)}`;
    header.push(`import ${rng.chance(0.3) ? "type " : ""}{ ${names.join(", ")} } from "${from}";`);
  }
  header.push("", `const ${upperSnake(["max", ...c.subject])} = ${rng.int(2, 10000)};`);
  return fill(target, header, () =>
    rng.weighted<() => string[]>([
      [() => tsFunction(c), 5],
      [() => tsInterface(c), 2],
      [() => tsClass(c), 2],
      [
        () => [
          `export type ${pascal(identifierWords(rng, "type"))} = ${["a", "b", "c"].map(() => `"${rng.pick(ADJECTIVES)}"`).join(" | ")};`,
        ],
        1,
      ],
    ])(),
  );
}

// ----------------------------------------------------------------------------------- Python

function pyExpr(c: FileContext, vars: string[]): string {
  const { rng } = c;
  const v = vars.length > 0 ? rng.pick(vars) : "payload";
  const field = snake(identifierWords(rng, "value"));
  return rng.pick([
    () => `${v}.get("${field}", ${rng.int(0, 5000)})`,
    () => `[item for item in ${v} if item.${field} > ${rng.int(1, 300)}]`,
    () => `f"${rng.pick(NOUNS)}:{${v}}"`,
    () => `min(${v}, ${upperSnake(identifierWords(rng, "value"))})`,
    () =>
      `${snake(identifierWords(rng, "function"))}(${v}, ${field}=${rng.chance(0.5) ? "True" : "False"})`,
    () => `len(${v}) * ${rng.int(2, 64)}`,
    () => `{key: value for key, value in ${v}.items() if value is not None}`,
    () => `"${rng.pick([",", ";", "/", ":"])}".join(str(x) for x in ${v})`,
  ])();
}

function pyStatements(c: FileContext, vars: string[], indent: string, depth: number): string[] {
  const { rng } = c;
  const out: string[] = [];
  const count = rng.int(2, depth === 0 ? 9 : 4);
  for (let i = 0; i < count; i++) {
    const kind = rng.weighted<string>([
      ["assign", 6],
      ["call", 3],
      ["log", 2],
      ["comment", 2],
      ["if", depth < 2 ? 3 : 0],
      ["for", depth < 2 ? 2 : 0],
      ["try", depth < 1 ? 1 : 0],
    ]);
    const v = vars.length > 0 ? rng.pick(vars) : "payload";
    switch (kind) {
      case "assign": {
        const name = snake(identifierWords(rng, "value"));
        out.push(`${indent}${name} = ${pyExpr(c, vars)}`);
        vars.push(name);
        break;
      }
      case "call": {
        const name = snake(identifierWords(rng, "value"));
        const callee =
          c.functions.length > 0 && rng.chance(0.5)
            ? rng.pick(c.functions)
            : `self._${snake(identifierWords(rng, "function"))}`;
        out.push(`${indent}${name} = ${callee}(${v}, ${rng.int(1, 100)})`);
        vars.push(name);
        break;
      }
      case "log":
        out.push(
          `${indent}logger.${rng.pick(["debug", "info", "warning"])}("${rng.pick(VERBS)} ${rng.pick(NOUNS)} %s ${rng.pick(QUALIFIERS)}", ${v})`,
        );
        break;
      case "comment":
        for (const line of wrap(sentence(rng), 88, `${indent}# `)) out.push(line);
        break;
      case "if":
        out.push(
          `${indent}if ${rng.pick([`not ${v}`, `len(${v}) > ${rng.int(1, 64)}`, `${v} == "${rng.pick(ADJECTIVES)}"`, `${v} is None`])}:`,
          ...pyStatements(c, [...vars], `${indent}    `, depth + 1),
        );
        break;
      case "for": {
        const item = rng.pick(NOUNS);
        out.push(
          `${indent}for ${item} in ${v}:`,
          ...pyStatements(c, [...vars, item], `${indent}    `, depth + 1),
        );
        break;
      }
      case "try":
        out.push(
          `${indent}try:`,
          ...pyStatements(c, [...vars], `${indent}    `, depth + 1),
          `${indent}except ${pascal([rng.pick(NOUNS), "error"])} as exc:`,
          `${indent}    logger.exception("${rng.pick(VERBS)} ${rng.pick(NOUNS)} failed")`,
          `${indent}    raise ${pascal([rng.pick(NOUNS), "error"])}(f"cannot ${rng.pick(VERBS)} {${v}}") from exc`,
        );
        break;
    }
  }
  if (out.every((line) => line.trimStart().startsWith("#"))) out.push(`${indent}pass`);
  return out;
}

function pyFunction(c: FileContext, indent = "", method = false): string[] {
  const { rng } = c;
  const name = `${method && rng.chance(0.2) ? "_" : ""}${snake(identifierWords(rng, "function"))}`;
  const params: string[] = [];
  for (let i = 0; i < rng.int(1, 3); i++) {
    const p = snake(identifierWords(rng, "value"));
    if (!params.includes(p)) params.push(p);
  }
  const annotated = params.map(
    (p) =>
      `${p}: ${rng.pick(["str", "int", "float", "bool", "dict[str, Any]", "list[str]", ...c.types])}`,
  );
  const lines = [
    `${indent}${rng.chance(0.2) ? "async " : ""}def ${name}(${method ? "self, " : ""}${annotated.join(", ")}) -> ${rng.pick(["None", "bool", "int", "str", `Optional[${c.types[0] ?? "str"}]`])}:`,
  ];
  if (rng.chance(0.75)) {
    const doc = wrap(paragraph(rng, rng.int(1, 3)), 84, `${indent}    `);
    doc[0] = `${indent}    """${(doc[0] ?? "").trimStart()}`;
    lines.push(...doc, `${indent}    """`);
  }
  const vars = [...params];
  lines.push(...pyStatements(c, vars, `${indent}    `, 0));
  lines.push(`${indent}    return ${rng.pick(vars)}`);
  if (!method) c.functions.push(name);
  return lines;
}

function pyClass(c: FileContext): string[] {
  const { rng } = c;
  const name = pascal([
    ...(c.types.length === 0 ? c.subject : identifierWords(rng, "type")),
    rng.pick(["Service", "Store", "Client", "Manager", "Worker", "Repository"]),
  ]);
  const lines = [
    `class ${name}${rng.chance(0.4) ? `(${pascal(["base", rng.pick(NOUNS)])})` : ""}:`,
    `    """${sentence(rng)}`,
    "",
    ...wrap(paragraph(rng, rng.int(1, 3)), 84, "    "),
    '    """',
    "",
    `    ${upperSnake(["default", rng.pick(NOUNS)])} = ${rng.int(1, 1000)}`,
    "",
    `    def __init__(self, ${snake([rng.pick(NOUNS), "repository"])}: ${pascal([rng.pick(NOUNS), "repository"])}) -> None:`,
    `        self._${snake([rng.pick(NOUNS), "cache"])}: dict[str, Any] = {}`,
    `        self._${snake([rng.pick(ADJECTIVES), rng.pick(NOUNS)])} = ${rng.int(0, 100)}`,
  ];
  for (let i = 0; i < rng.int(1, 4); i++) lines.push("", ...pyFunction(c, "    ", true));
  c.types.push(name);
  return lines;
}

function pythonFile(rng: Random, target: number): string {
  const c = context(rng);
  const header = [`"""${sentence(rng)}`, "", ...wrap(paragraph(rng, rng.int(1, 4)), 88), '"""', ""];
  header.push("from __future__ import annotations", "", "import logging");
  for (const m of ["asyncio", "json", "time", "dataclasses", "itertools"])
    if (rng.chance(0.3)) header.push(`import ${m}`);
  header.push("from typing import Any, Optional");
  for (let i = 0; i < rng.int(0, 4); i++)
    header.push(
      `from .${rng.pick(NOUNS)}.${rng.pick(NOUNS)} import ${pascal(identifierWords(rng, "type"))}, ${snake(identifierWords(rng, "function"))}`,
    );
  header.push("", "logger = logging.getLogger(__name__)", "");
  header.push(`${upperSnake(["max", ...c.subject])} = ${rng.int(2, 10000)}`);
  return fill(target, header, () => {
    const block = rng.weighted<() => string[]>([
      [() => pyFunction(c), 5],
      [() => pyClass(c), 3],
      [
        () => {
          const name = pascal(identifierWords(rng, "type"));
          c.types.push(name);
          const lines = ["@dataclasses.dataclass(frozen=True)", `class ${name}:`];
          lines.push(`    """${sentence(rng)}"""`, "");
          for (let i = 0; i < rng.int(2, 7); i++)
            lines.push(
              `    ${snake(identifierWords(rng, "value"))}: ${rng.pick(["str", "int", "float", "bool", "Optional[str]"])}`,
            );
          return lines;
        },
        1,
      ],
    ])();
    return ["", ...block];
  });
}

// --------------------------------------------------------------------------------------- Go

function goStatements(c: FileContext, vars: string[], indent: string, depth: number): string[] {
  const { rng } = c;
  const out: string[] = [];
  const count = rng.int(2, depth === 0 ? 8 : 4);
  for (let i = 0; i < count; i++) {
    const kind = rng.weighted<string>([
      ["define", 5],
      ["call", 3],
      ["log", 2],
      ["comment", 2],
      ["if", depth < 2 ? 3 : 0],
      ["for", depth < 2 ? 2 : 0],
    ]);
    const v = vars.length > 0 ? rng.pick(vars) : "req";
    switch (kind) {
      case "define": {
        const name = camel(identifierWords(rng, "value"));
        out.push(
          `${indent}${name} := ${rng.pick([`len(${v}) * ${rng.int(2, 64)}`, `fmt.Sprintf("${rng.pick(NOUNS)}:%v", ${v})`, `${v}.${pascal([rng.pick(NOUNS)])}`, `make(map[string]int, ${rng.int(4, 256)})`, `strings.TrimSpace(${v}.${pascal([rng.pick(NOUNS), "name"])})`])}`,
          `${indent}_ = ${name}`,
        );
        vars.push(name);
        break;
      }
      case "call": {
        const name = camel(identifierWords(rng, "value"));
        const callee =
          c.functions.length > 0 && rng.chance(0.5)
            ? rng.pick(c.functions)
            : `s.${pascal(identifierWords(rng, "function"))}`;
        out.push(
          `${indent}${name}, err := ${callee}(ctx, ${v})`,
          `${indent}if err != nil {`,
          `${indent}\treturn fmt.Errorf("${rng.pick(VERBS)} ${rng.pick(NOUNS)}: %w", err)`,
          `${indent}}`,
        );
        vars.push(name);
        break;
      }
      case "log":
        out.push(
          `${indent}log.Printf("${rng.pick(VERBS)} ${rng.pick(NOUNS)} %v ${rng.pick(QUALIFIERS)}", ${v})`,
        );
        break;
      case "comment":
        for (const line of wrap(sentence(rng), 96, `${indent}// `)) out.push(line);
        break;
      case "if":
        out.push(
          `${indent}if ${rng.pick([`${v} == nil`, `len(${v}) > ${rng.int(1, 64)}`, `${v} == "${rng.pick(ADJECTIVES)}"`])} {`,
          ...goStatements(c, [...vars], `${indent}\t`, depth + 1),
          `${indent}}`,
        );
        break;
      case "for": {
        const item = rng.pick(NOUNS);
        out.push(
          `${indent}for _, ${item} := range ${v} {`,
          ...goStatements(c, [...vars, item], `${indent}\t`, depth + 1),
          `${indent}}`,
        );
        break;
      }
    }
  }
  return out;
}

function goFunction(c: FileContext, receiver?: string): string[] {
  const { rng } = c;
  const name = pascal(identifierWords(rng, "function"));
  const params: string[] = [];
  for (let i = 0; i < rng.int(1, 3); i++) {
    const p = camel(identifierWords(rng, "value"));
    if (!params.includes(p)) params.push(p);
  }
  const sig = params.map(
    (p) =>
      `${p} ${rng.pick(["string", "int", "[]string", "map[string]int", "bool", ...c.types.map((t) => `*${t}`)])}`,
  );
  const lines = wrap(
    `${name} ${sentence(rng).replace(/^\w/, (ch) => ch.toLowerCase())}`,
    96,
    "// ",
  );
  lines.push(
    `func ${receiver ? `(s *${receiver}) ` : ""}${name}(ctx context.Context, ${sig.join(", ")}) error {`,
    ...goStatements(c, [...params], "\t", 0),
    "\treturn nil",
    "}",
  );
  if (!receiver) c.functions.push(name);
  return lines;
}

function goStruct(c: FileContext): string[] {
  const { rng } = c;
  const name = pascal(identifierWords(rng, "type"));
  const lines = wrap(
    `${name} ${sentence(rng).replace(/^\w/, (ch) => ch.toLowerCase())}`,
    96,
    "// ",
  );
  lines.push(`type ${name} struct {`);
  for (let i = 0; i < rng.int(2, 8); i++) {
    const field = pascal(identifierWords(rng, "value"));
    lines.push(
      `\t${field} ${rng.pick(["string", "int64", "bool", "time.Time", "[]string", "map[string]string"])} \`json:"${snake(field.split(/(?=[A-Z])/).map((w) => w.toLowerCase()))}"\``,
    );
  }
  lines.push("}");
  c.types.push(name);
  return lines;
}

function goFile(rng: Random, target: number): string {
  const c = context(rng);
  const pkg = rng.pick(NOUNS);
  const header = [
    ...wrap(
      `Package ${pkg} ${paragraph(rng, rng.int(1, 2)).replace(/^\w/, (ch) => ch.toLowerCase())}`,
      96,
      "// ",
    ),
    `package ${pkg}`,
    "",
    "import (",
    '\t"context"',
    '\t"fmt"',
    '\t"log"',
    '\t"strings"',
    '\t"time"',
    ")",
    "",
    `const max${pascal(c.subject)} = ${rng.int(2, 10000)}`,
  ];
  let service: string | undefined;
  return fill(target, header, () =>
    rng.weighted<() => string[]>([
      [() => goFunction(c), 4],
      [() => goStruct(c), 2],
      [
        () => {
          service ??= pascal([...c.subject, "service"]);
          return goFunction(c, service);
        },
        3,
      ],
    ])(),
  );
}

// --------------------------------------------------------------------------------- Markdown

function codeSample(rng: Random): string[] {
  const language = rng.pick(["ts", "python", "go", "bash", "json"] as const);
  const c = context(rng);
  let body: string[];
  switch (language) {
    case "ts":
      body = tsFunction(c).filter((l) => !l.trimStart().startsWith("*") && !l.includes("/**"));
      break;
    case "python":
      body = pyFunction(c).filter((l) => !l.includes('"""'));
      break;
    case "go":
      body = goFunction(c);
      break;
    case "bash":
      body = [
        `npx ${rng.pick(NOUNS)} ${rng.pick(VERBS)} --${rng.pick(NOUNS)} ${rng.pick(ADJECTIVES)}`,
        `export ${upperSnake(identifierWords(rng, "value"))}=${rng.int(1, 9999)}`,
        `curl -s http://localhost:${rng.int(3000, 9000)}/api/${rng.pick(NOUNS)}s | jq '.${rng.pick(NOUNS)}'`,
      ];
      break;
    case "json":
      body = [
        "{",
        ...c.fields.slice(0, rng.int(2, 6)).map((f) => `  "${f}": ${rng.int(0, 9999)},`),
        `  "${rng.pick(NOUNS)}": "${rng.pick(ADJECTIVES)}"`,
        "}",
      ];
      break;
  }
  return [`\`\`\`${language}`, ...body.slice(0, 40), "```"];
}

function markdownSection(rng: Random, level: number): string[] {
  const title = rng.chance(0.5)
    ? rng.pick(TOPICS)
    : `${capitalize(rng.pick(VERBS))} ${rng.chance(0.4) ? `${rng.pick(ADJECTIVES)} ` : ""}${rng.pick(NOUNS)}s`;
  const out = [`${"#".repeat(level)} ${title}`, ""];
  const wrapped = rng.chance(0.5);
  const para = (n: number) => {
    const text = paragraph(rng, n);
    return wrapped ? wrap(text, 80) : [text];
  };
  out.push(...para(rng.int(2, 6)));
  for (let i = 0; i < rng.int(1, 4); i++) {
    out.push("");
    const kind = rng.weighted<string>([
      ["para", 5],
      ["list", 3],
      ["code", 2],
      ["table", 1],
      ["note", 1],
    ]);
    switch (kind) {
      case "para":
        out.push(...para(rng.int(2, 7)));
        break;
      case "list": {
        const ordered = rng.chance(0.3);
        for (let j = 0; j < rng.int(2, 7); j++)
          out.push(`${ordered ? `${j + 1}.` : "-"} ${sentence(rng)}`);
        break;
      }
      case "code":
        out.push(...codeSample(rng));
        break;
      case "table": {
        const cols = [capitalize(rng.pick(NOUNS)), "Default", "Description"];
        out.push(`| ${cols.join(" | ")} |`, `| ${cols.map(() => "---").join(" | ")} |`);
        for (let j = 0; j < rng.int(2, 8); j++)
          out.push(
            `| \`${camel(identifierWords(rng, "value"))}\` | ${rng.int(0, 1000)} | ${sentence(rng)} |`,
          );
        break;
      }
      case "note":
        out.push(`> **Note:** ${sentence(rng)} ${sentence(rng)}`);
        break;
    }
  }
  if (level < 4 && rng.chance(0.35)) {
    for (let i = 0; i < rng.int(1, 3); i++) out.push("", ...markdownSection(rng, level + 1));
  }
  return out;
}

function markdownFile(rng: Random, target: number): string {
  const subject = identifierWords(rng, "type");
  const header = [
    `# ${capitalize(subject.join(" "))}`,
    "",
    ...wrap(paragraph(rng, rng.int(2, 5), `The ${subject.join(" ")}`), 80),
  ];
  if (rng.chance(0.3))
    header.push(
      "",
      `Maintained by ${rng.pick(PEOPLE)}. Last reviewed ${rng.int(2019, 2025)}-${String(rng.int(1, 12)).padStart(2, "0")}.`,
    );
  return fill(target, header, () => markdownSection(rng, 2));
}
