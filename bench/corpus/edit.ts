import type { Random } from "./random";
import { ADJECTIVES, NOUNS, QUALIFIERS, sentence, VERBS } from "./vocabulary";

/**
 * A small, realistic edit in the middle of a file, as a developer's commit would make:
 * code gets one new statement in the function nearest the middle of the file (just before
 * one of its `return` lines); Markdown gets one more sentence in the prose paragraph nearest
 * the middle. Everything else in the file stays byte-identical.
 */
export function editMiddle(path: string, text: string, rng: Random): string {
  const lines = text.split("\n");
  const middle = Math.floor(lines.length / 2);
  const isMarkdown = path.endsWith(".md");
  const candidates = isMarkdown ? proseLines(lines) : returnLines(lines);
  let target = -1;
  for (const line of candidates)
    if (target < 0 || Math.abs(line - middle) < Math.abs(target - middle)) target = line;

  if (isMarkdown) {
    if (target < 0) {
      lines.splice(middle, 0, "", sentence(rng));
    } else {
      lines[target] = `${lines[target]} ${sentence(rng)}`;
    }
    return lines.join("\n");
  }
  const message = `${rng.pick(VERBS)} ${rng.pick(ADJECTIVES)} ${rng.pick(NOUNS)} ${rng.pick(QUALIFIERS)} (${rng.int(1000, 9999)})`;
  if (target < 0) {
    lines.splice(middle, 0, commentFor(path, message));
    return lines.join("\n");
  }
  const indent = /^\s*/.exec(lines[target] ?? "")?.[0] ?? "";
  lines.splice(target, 0, `${indent}${statementFor(path, message)}`);
  return lines.join("\n");
}

function statementFor(path: string, message: string): string {
  if (path.endsWith(".py")) return `logger.info("${message}")`;
  if (path.endsWith(".go")) return `log.Printf("${message}")`;
  return `logger.info("${message}");`;
}

function commentFor(path: string, message: string): string {
  return path.endsWith(".py") ? `# ${message}` : `// ${message}`;
}

/** Lines that return from a function (they only occur inside function bodies). */
function returnLines(lines: string[]): number[] {
  const out: number[] = [];
  lines.forEach((line, i) => {
    if (/^\s+return\b/.test(line)) out.push(i);
  });
  return out;
}

/** Lines of prose outside code fences: not headings, lists, tables or quotes. */
function proseLines(lines: string[]): number[] {
  const out: number[] = [];
  let fenced = false;
  lines.forEach((line, i) => {
    if (line.startsWith("```")) {
      fenced = !fenced;
      return;
    }
    if (fenced || line.trim() === "") return;
    if (/^(#|\||>|-|\d+\.)/.test(line)) return;
    out.push(i);
  });
  return out;
}
