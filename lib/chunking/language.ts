/**
 * Languages by file name, and what the code chunker needs to know about each: whether blocks
 * are delimited by indentation, which comment markers attach to the declaration below them,
 * which lines cannot start a new declaration.
 */

const BY_EXTENSION: Record<string, string> = {
  ts: "typescript",
  tsx: "typescript",
  mts: "typescript",
  cts: "typescript",
  js: "javascript",
  jsx: "javascript",
  mjs: "javascript",
  cjs: "javascript",
  py: "python",
  pyi: "python",
  pyw: "python",
  go: "go",
  rs: "rust",
  java: "java",
  kt: "kotlin",
  kts: "kotlin",
  cs: "csharp",
  c: "c",
  h: "c",
  cc: "cpp",
  cpp: "cpp",
  cxx: "cpp",
  "c++": "cpp",
  hpp: "cpp",
  hh: "cpp",
  hxx: "cpp",
  ino: "cpp",
  m: "objective-c",
  mm: "objective-c",
  rb: "ruby",
  rake: "ruby",
  gemspec: "ruby",
  php: "php",
  swift: "swift",
  scala: "scala",
  sc: "scala",
  groovy: "groovy",
  gradle: "groovy",
  dart: "dart",
  lua: "lua",
  pl: "perl",
  pm: "perl",
  r: "r",
  jl: "julia",
  ex: "elixir",
  exs: "elixir",
  erl: "erlang",
  hrl: "erlang",
  hs: "haskell",
  ml: "ocaml",
  mli: "ocaml",
  fs: "fsharp",
  fsx: "fsharp",
  clj: "clojure",
  cljs: "clojure",
  elm: "elm",
  nim: "nim",
  zig: "zig",
  v: "v",
  sol: "solidity",
  vue: "vue",
  svelte: "svelte",
  sh: "shell",
  bash: "shell",
  zsh: "shell",
  fish: "shell",
  ps1: "powershell",
  sql: "sql",
  graphql: "graphql",
  gql: "graphql",
  proto: "protobuf",
  tf: "hcl",
  hcl: "hcl",
  css: "css",
  scss: "scss",
  sass: "sass",
  less: "less",
  html: "html",
  htm: "html",
  xml: "xml",
  json: "json",
  jsonc: "json",
  json5: "json",
  yaml: "yaml",
  yml: "yaml",
  toml: "toml",
  ini: "ini",
  cfg: "ini",
  bzl: "starlark",
  star: "starlark",
  cmake: "cmake",
  md: "markdown",
  markdown: "markdown",
  mdx: "markdown",
  mdown: "markdown",
  mkd: "markdown",
  txt: "text",
  text: "text",
  rst: "restructuredtext",
  adoc: "asciidoc",
  asciidoc: "asciidoc",
  org: "org",
  tex: "latex",
};

const BY_NAME: Record<string, string> = {
  dockerfile: "dockerfile",
  containerfile: "dockerfile",
  makefile: "makefile",
  gnumakefile: "makefile",
  "cmakelists.txt": "cmake",
  gemfile: "ruby",
  rakefile: "ruby",
  vagrantfile: "ruby",
  podfile: "ruby",
  jenkinsfile: "groovy",
  build: "starlark",
  "build.bazel": "starlark",
  workspace: "starlark",
  ".bashrc": "shell",
  ".zshrc": "shell",
  ".profile": "shell",
  readme: "text",
  license: "text",
  copying: "text",
};

/** The language of a file from its name: "typescript", "python", "markdown", "text", … */
export function detectLanguage(path: string): string | undefined {
  const slash = path.lastIndexOf("/");
  const name = (slash === -1 ? path : path.slice(slash + 1)).toLowerCase();
  const byName = BY_NAME[name];
  if (byName !== undefined) return byName;
  if (name.startsWith("dockerfile.") || name.endsWith(".dockerfile")) return "dockerfile";
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return undefined;
  return BY_EXTENSION[name.slice(dot + 1)];
}

const PROSE = new Set(["text", "restructuredtext", "asciidoc", "org", "latex"]);

export type DocumentKind = "markdown" | "code" | "text";

export function kindOf(language: string | undefined): DocumentKind {
  if (language === undefined || PROSE.has(language)) return "text";
  if (language === "markdown") return "markdown";
  return "code";
}

export interface CodeProfile {
  /** Blocks end by dedenting (Python, YAML…): a declaration may follow a deeper line directly. */
  indentBased: boolean;
  /** Every line at the region's indentation may start a unit (data formats: keys, tables). */
  everyLine: boolean;
  /** Lines that attach to the declaration below them. */
  attached: RegExp;
  /** Lines that continue what came before and cannot start a unit. */
  continuation: RegExp;
}

const INDENT_BASED = new Set([
  "python",
  "yaml",
  "starlark",
  "nim",
  "elm",
  "haskell",
  "fsharp",
  "makefile",
  "sass",
]);
const DATA = new Set(["json", "yaml", "toml", "ini"]);
const HASH_COMMENTS = new Set([
  "python",
  "ruby",
  "shell",
  "yaml",
  "toml",
  "ini",
  "perl",
  "r",
  "julia",
  "elixir",
  "makefile",
  "dockerfile",
  "cmake",
  "starlark",
  "hcl",
  "powershell",
  "nim",
  "graphql",
  "php",
]);
const DASH_COMMENTS = new Set(["sql", "lua", "haskell", "elm"]);

// Sticky regexes, tested at a line's first non-blank character.
const CODE_CONTINUATION =
  /(?:[}\]).,?:|&+=*]|-[^-]|<\/|(?:else|elif|except|finally|catch|end|rescue|ensure|when|then|case|default|do|while)\b)/y;
const DATA_CONTINUATION = /[}\])]/y;

const profiles = new Map<string, CodeProfile>();

export function codeProfile(language: string | undefined): CodeProfile {
  const key = language ?? "";
  let profile = profiles.get(key);
  if (profile) return profile;
  const markers = ["\\/\\/", "\\/\\*", "\\*", "@", "#\\["];
  if (language && HASH_COMMENTS.has(language)) markers.push("#");
  if (language && DASH_COMMENTS.has(language)) markers.push("--");
  if (language === "csharp") markers.push("\\[");
  profile = {
    indentBased: language !== undefined && INDENT_BASED.has(language),
    everyLine: language !== undefined && DATA.has(language),
    attached: new RegExp(`(?:${markers.join("|")})`, "y"),
    continuation:
      language !== undefined && DATA.has(language) ? DATA_CONTINUATION : CODE_CONTINUATION,
  };
  profiles.set(key, profile);
  return profile;
}

/** A declaration keyword after any modifiers: function, class, def, fn, struct, const, … */
export const DECLARATION =
  /(?:(?:export|default|declare|abstract|async|public|private|protected|internal|static|final|sealed|partial|open|data|override|virtual|inline|extern|unsafe|pub(?:\([\w: \t]*\))?|local|readonly|synchronized|native|suspend|operator|infix|tailrec|companion|annotation|inner|value|fileprivate|mutating|enum|case|template[ \t]*<[^>\n]*>)[ \t]+)*(?:function\*?|def|defp|defmodule|defmacro|func|fn|fun|sub|class|interface|trait|struct|enum|union|record|object|module|namespace|type|typealias|impl|mod|protocol|extension|macro_rules!|const|let|var|val|static)(?=[ \t<({!*]|$)/my;

/** A definition that starts with a name and a parenthesis: C-family functions, calls such as describe(…). */
export const SIGNATURE =
  /(?!(?:if|for|while|switch|return|else|do|catch|sizeof|new|throw|await|yield|typeof|delete|elif|with|assert|not|and|or|print|echo)\b)[A-Za-z_~$][\w$:<>,.*& \t~[\]]*?[\w$>\]][ \t]*\(/y;

const CONTROL = new Set([
  "if",
  "for",
  "while",
  "switch",
  "return",
  "catch",
  "sizeof",
  "new",
  "throw",
  "await",
  "yield",
  "typeof",
  "elif",
  "with",
  "assert",
  "function",
]);

const CONTAINER_KINDS = new Set([
  "class",
  "interface",
  "trait",
  "struct",
  "enum",
  "union",
  "record",
  "object",
  "module",
  "namespace",
  "protocol",
  "extension",
  "impl",
  "type",
]);

export function isContainer(symbol: string | undefined): boolean {
  if (symbol === undefined) return false;
  const space = symbol.indexOf(" ");
  return space > 0 && CONTAINER_KINDS.has(symbol.slice(0, space));
}

const MODIFIERS =
  /^(?:(?:export|default|declare|abstract|async|public|private|protected|internal|static|final|sealed|partial|open|data|override|virtual|inline|extern|unsafe|pub(?:\([\w:\s]*\))?|local|readonly|synchronized|native|suspend|operator|infix|tailrec|companion|annotation|inner|value|fileprivate|mutating|template\s*<[^>]*>)\s+)+/;
const CALL_WITH_STRING = /^([A-Za-z_$][\w$.]*)\s*\(\s*(["'`])([^"'`\n]{0,80})\2/;
const IMPL = /^impl(?:\s*<[^>]*>)?\s+([^{]+?)\s*(?:\{|where\b|$)/;
const TYPE_LIKE =
  /^(?:enum\s+|case\s+|data\s+)?(class|interface|trait|struct|enum|union|record|object|module|defmodule|namespace|protocol|extension|type|typealias|mod)\s+([A-Za-z_$][\w$.]*(?:::[A-Za-z_$][\w$]*)*)/;
const FUNCTION_LIKE =
  /^(?:async\s+)?(?:function\*?|def|defp|defmacro|func|fn|fun|sub)\s*(?:\(\s*\w*\s*\*?\s*([\w.]+)[^)]*\)\s*)?([A-Za-z_$][\w$]*[!?]?)/;
const VARIABLE_LIKE = /^(const|let|var|val|static)\s+(?:mut\s+)?([A-Za-z_$][\w$]*)/;
const MACRO = /^macro_rules!\s*(\w+)/;
const NAME_BEFORE_PAREN = /([A-Za-z_~$][\w$~]*)[ \t]*(?:<[^()<>]{0,80}>)?[ \t]*\(/;

const KIND_ALIASES: Record<string, string> = {
  defmodule: "module",
  mod: "module",
  typealias: "type",
};

/** Where a unit sits: at the top of a file, in a class-like body, or in a function body. */
export type Scope = "top" | "member" | "body";

/**
 * The symbol a code unit defines, from its declaration line: "class Foo", "function bar",
 * "method Server.Start", "const baz", `describe("parser")`. Undefined when the line declares
 * nothing recognisable (imports, statements). In a function body only named functions, types
 * and calls such as it("…") count, not local variables.
 */
export function symbolOf(line: string, scope: Scope): string | undefined {
  const inContainer = scope === "member";
  // A declaration says what it is near the start; a bounded prefix keeps huge lines cheap.
  const text = (line.length > 300 ? line.slice(0, 300) : line).replace(MODIFIERS, "");
  let m = CALL_WITH_STRING.exec(text);
  if (m) return `${m[1]}(${m[2]}${m[3]}${m[2]})`;
  m = IMPL.exec(text);
  if (m) return `impl ${m[1]?.replace(/\s+/g, " ")}`;
  m = TYPE_LIKE.exec(text);
  if (m) return `${KIND_ALIASES[m[1] as string] ?? m[1]} ${m[2]}`;
  m = FUNCTION_LIKE.exec(text);
  if (m) {
    if (m[1]) return `method ${m[1]}.${m[2]}`;
    return `${inContainer ? "method" : "function"} ${m[2]}`;
  }
  if (scope === "body") return undefined;
  m = VARIABLE_LIKE.exec(text);
  if (m) return `${m[1]} ${m[2]}`;
  m = MACRO.exec(text);
  if (m) return `macro ${m[1]}`;
  m = NAME_BEFORE_PAREN.exec(text);
  if (m && !CONTROL.has(m[1] as string) && !text.slice(0, m.index).includes("=")) {
    // "int main(", "public void run(": a type before the name. A bare "foo(" is a call,
    // except inside a class body, where it is a method.
    if (inContainer) return `method ${m[1]}`;
    if (/[\w>*&\]]\s+[*&]*$/.test(text.slice(0, m.index))) return `function ${m[1]}`;
  }
  return undefined;
}
