import { RE2JS } from "re2js";

/**
 * Globs compiled for RE2 (re2js, a pure-JavaScript port of Google's RE2): matching takes time
 * linear in the path, whatever the pattern, so a hostile pattern or file name cannot stall
 * planning (a backtracking engine needs seconds for `*a*a*a*a*a*a*a*a*a*a*a*z` against 36
 * characters). Patterns are bounded too (GLOB_LIMITS), so compiling them stays cheap.
 *
 * The syntax, over "/"-separated repository paths, dotfiles included:
 *   `*`  any run of characters within one path segment     `?`  one character, not "/"
 *   `**` as a whole segment: any number of segments (`a/**` also matches `a`)
 *   `[abc]` `[a-z]` `[!a]` `[^a]` `[[:alpha:]]`  a character class (never "/")
 *   `{a,b}`  alternatives (nestable)                        `\x`  the character x itself
 *   `@(a|b)` `?(a|b)` `*(a|b)` `+(a|b)`  extglobs: one, at most one, any number, at least one
 * Anything else, "(" ")" "|" "." "+" included, matches itself. `!(…)` (negated extglob) has no
 * linear-time form and is refused: put the pattern in exclude instead.
 */
export const GLOB_LIMITS = {
  /** Characters per glob. */
  maxLength: 500,
  /** Wildcards per glob: `*`, `**`, `?`, character classes and extglobs each count one. */
  maxWildcards: 20,
  /** Brace and extglob alternatives per glob. */
  maxAlternatives: 64,
  /** Globs per list (include or exclude). */
  maxGlobs: 100,
} as const;

export class GlobSyntaxError extends Error {}

const POSIX_CLASSES = new Set([
  "alnum",
  "alpha",
  "ascii",
  "blank",
  "cntrl",
  "digit",
  "graph",
  "lower",
  "print",
  "punct",
  "space",
  "upper",
  "word",
  "xdigit",
]);

/** Escapes one character for use outside a class. */
function literal(c: string): string {
  return /[\\^$.|?*+()[\]{}]/.test(c) ? `\\${c}` : c;
}

/** Escapes one character for use inside a class. */
function classLiteral(c: string): string {
  return /[\\\]^[-]/.test(c) ? `\\${c}` : c;
}

interface Counters {
  wildcards: number;
  alternatives: number;
}

/**
 * Translates one glob to an RE2 pattern (unanchored; the caller anchors), enforcing
 * GLOB_LIMITS unless `limits` is false (the built-in excludes). Throws GlobSyntaxError naming
 * what is wrong.
 */
export function globToRe2(glob: string, options: { limits?: boolean } = {}): string {
  const limits = options.limits ?? true;
  if (limits && glob.length > GLOB_LIMITS.maxLength)
    throw new GlobSyntaxError(`longer than ${GLOB_LIMITS.maxLength} characters`);
  const counters: Counters = { wildcards: 0, alternatives: 0 };
  const [out, end] = translate(glob, 0, counters, "");
  if (end !== glob.length) throw new GlobSyntaxError(`unexpected "${glob[end]}"`);
  if (limits && counters.wildcards > GLOB_LIMITS.maxWildcards)
    throw new GlobSyntaxError(
      `more than ${GLOB_LIMITS.maxWildcards} wildcards (${counters.wildcards})`,
    );
  if (limits && counters.alternatives > GLOB_LIMITS.maxAlternatives)
    throw new GlobSyntaxError(`more than ${GLOB_LIMITS.maxAlternatives} alternatives`);
  return out;
}

/** True when position i starts a path segment: the start, or after "/" or an alternative's start. */
function segmentStart(glob: string, i: number): boolean {
  if (i === 0) return true;
  const before = glob[i - 1];
  return before === "/" || before === "{" || before === "," || before === "(" || before === "|";
}

function segmentEnd(glob: string, i: number, closers: string): boolean {
  return i >= glob.length || glob[i] === "/" || closers.includes(glob[i] as string);
}

/**
 * Translates from `start` until the end, or until a character in `closers` at this level
 * (for braces "," and "}", for extglobs "|" and ")"). Returns the pattern and where it stopped.
 */
function translate(
  glob: string,
  start: number,
  counters: Counters,
  closers: string,
): [string, number] {
  let out = "";
  let i = start;
  while (i < glob.length) {
    const c = glob[i] as string;
    if (closers.includes(c)) return [out, i];
    if (c === "\\") {
      const next = glob[i + 1];
      if (next === undefined) throw new GlobSyntaxError("ends with a lone backslash");
      out += literal(next);
      i += 2;
      continue;
    }
    // "/**" at the end of a segment list: the directory itself or anything under it.
    if (c === "/" && glob.startsWith("**", i + 1) && segmentEnd(glob, i + 3, closers)) {
      if (glob[i + 3] === "/") {
        out += "/(?:.*/)?";
        i += 4;
      } else {
        out += "(?:/.*)?";
        i += 3;
      }
      counters.wildcards++;
      continue;
    }
    if (
      c === "*" &&
      glob[i + 1] === "*" &&
      segmentStart(glob, i) &&
      segmentEnd(glob, i + 2, closers)
    ) {
      counters.wildcards++;
      if (glob[i + 2] === "/") {
        out += "(?:.*/)?";
        i += 3;
      } else {
        out += ".*";
        i += 2;
      }
      continue;
    }
    if ((c === "@" || c === "?" || c === "*" || c === "+" || c === "!") && glob[i + 1] === "(") {
      if (c === "!")
        throw new GlobSyntaxError("negated extglobs !(…) are not supported; use exclude instead");
      const [body, end] = alternatives(glob, i + 2, counters, "|", ")");
      counters.wildcards++;
      out += `(?:${body})${c === "@" ? "" : c}`;
      i = end + 1;
      continue;
    }
    if (c === "*") {
      while (glob[i] === "*") i++; // "a**b" is "a*b"
      counters.wildcards++;
      out += "[^/]*";
      continue;
    }
    if (c === "?") {
      counters.wildcards++;
      out += "[^/]";
      i++;
      continue;
    }
    if (c === "[") {
      const parsed = characterClass(glob, i);
      if (parsed) {
        counters.wildcards++;
        out += parsed.pattern;
        i = parsed.end;
        continue;
      }
      out += literal(c);
      i++;
      continue;
    }
    if (c === "{") {
      const close = matchingBrace(glob, i);
      if (close !== undefined && hasTopLevelComma(glob, i + 1, close)) {
        const [body, end] = alternatives(glob, i + 1, counters, ",", "}");
        out += `(?:${body})`;
        i = end + 1;
        continue;
      }
    }
    out += literal(c);
    i++;
  }
  if (closers !== "") throw new GlobSyntaxError(`unclosed "${closers.includes("}") ? "{" : "("}"`);
  return [out, i];
}

/** Alternatives separated by `separator` up to `close`; returns the joined pattern and the close index. */
function alternatives(
  glob: string,
  start: number,
  counters: Counters,
  separator: string,
  close: string,
): [string, number] {
  const parts: string[] = [];
  let i = start;
  for (;;) {
    const [part, end] = translate(glob, i, counters, `${separator}${close}`);
    parts.push(part);
    counters.alternatives++;
    if (glob[end] === close) return [parts.join("|"), end];
    i = end + 1;
  }
}

function matchingBrace(glob: string, open: number): number | undefined {
  let depth = 0;
  for (let i = open; i < glob.length; i++) {
    const c = glob[i];
    if (c === "\\") i++;
    else if (c === "[") {
      const parsed = characterClass(glob, i);
      if (parsed) i = parsed.end - 1;
    } else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i;
  }
  return undefined;
}

function hasTopLevelComma(glob: string, from: number, to: number): boolean {
  let depth = 0;
  for (let i = from; i < to; i++) {
    const c = glob[i];
    if (c === "\\") i++;
    else if (c === "{" || c === "(") depth++;
    else if (c === "}" || c === ")") depth--;
    else if (c === "," && depth === 0) return true;
  }
  return false;
}

/** A character class starting at `open` ("["), or undefined when there is no closing "]". */
function characterClass(glob: string, open: number): { pattern: string; end: number } | undefined {
  let i = open + 1;
  let negated = false;
  if (glob[i] === "!" || glob[i] === "^") {
    negated = true;
    i++;
  }
  let body = "";
  let first = true;
  while (i < glob.length) {
    const c = glob[i] as string;
    if (c === "]" && !first) {
      if (body === "") return undefined;
      return { pattern: negated ? `[^/${body}]` : `[${body}]`, end: i + 1 };
    }
    first = false;
    if (c === "\\") {
      const next = glob[i + 1];
      if (next === undefined) return undefined;
      body += classLiteral(next);
      i += 2;
      continue;
    }
    if (c === "[" && glob[i + 1] === ":") {
      const close = glob.indexOf(":]", i + 2);
      const name = close === -1 ? "" : glob.slice(i + 2, close);
      if (!POSIX_CLASSES.has(name))
        throw new GlobSyntaxError(`unknown character class [:${name}:]`);
      body += `[:${name}:]`;
      i = close + 2;
      continue;
    }
    if (c === "-" && body !== "" && glob[i + 1] !== "]" && glob[i + 1] !== undefined) {
      body += "-";
      i++;
      continue;
    }
    body += classLiteral(c);
    i++;
  }
  return undefined;
}

export type PathMatcher = (path: string) => boolean;

/**
 * One RE2 program for a list of globs, anchored at both ends; each glob also matches
 * everything under a directory it matches (`docs` means `docs` and `docs/**`). User globs are
 * checked against GLOB_LIMITS first (validateGlobs); `limits: false` is for built-in lists.
 */
export function compileGlobs(
  globs: readonly string[],
  options: { nocase?: boolean; limits?: boolean } = {},
): PathMatcher | undefined {
  if (globs.length === 0) return undefined;
  const source = globs
    .map((g) => {
      const body = globToRe2(g, { limits: options.limits });
      return g.endsWith("/**") || g === "**" ? body : `${body}(?:/.*)?`;
    })
    .map((p) => `(?:${p})`)
    .join("|");
  // DOTALL: git allows newlines in file names, and "**" must cross them like any character.
  const flags = RE2JS.DOTALL | (options.nocase ? RE2JS.CASE_INSENSITIVE : 0);
  const regex = RE2JS.compile(`^(?:${source})$`, flags);
  return (path) => regex.testExact(path);
}

/** Checks a user glob: syntax, GLOB_LIMITS, and that RE2 compiles it. Throws GlobSyntaxError. */
export function checkGlob(glob: string): void {
  const pattern = globToRe2(glob);
  try {
    RE2JS.compile(`^(?:${pattern})$`);
  } catch (error) {
    throw new GlobSyntaxError(error instanceof Error ? error.message : String(error));
  }
}
