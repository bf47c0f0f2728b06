import { ValidationError } from "../errors";
import { checkGlob, compileGlobs, GLOB_LIMITS, GlobSyntaxError, type PathMatcher } from "./glob";

/**
 * Which files of a source get indexed: by path (include/exclude globs, built-in excludes, size)
 * before anything is downloaded, then by content (binary, empty) once the bytes are in hand.
 *
 * Globs (syntax in ./glob.ts) are matched over repository-relative paths with "/" separators,
 * dotfiles included: `*` stays within one directory, `**` crosses directories. A glob that
 * matches a directory also matches everything under it, so `docs` and `docs/` mean `docs/**`.
 * User globs are case-sensitive; the built-in excludes are not (`LOGO.PNG` is an image too).
 * Matching runs on RE2 (linear time in the path) and user globs are bounded in length and
 * wildcards, so no pattern or file name can stall planning.
 */

export type SkipReason =
  | "excluded"
  | "not-included"
  | "default-excluded"
  | "too-large"
  | "binary"
  | "empty";

export interface FilterOptions {
  include: string[];
  exclude: string[];
  maxFileBytes: number;
  /** Apply DEFAULT_EXCLUDES (default true). */
  defaultExcludes?: boolean;
}

export type PathVerdict = { ok: true } | { ok: false; reason: SkipReason };

const BINARY_EXTENSIONS = [
  // images
  "png",
  "jpg",
  "jpeg",
  "gif",
  "bmp",
  "ico",
  "icns",
  "webp",
  "avif",
  "tif",
  "tiff",
  "psd",
  "heic",
  "svg",
  "eps",
  // fonts
  "woff",
  "woff2",
  "ttf",
  "otf",
  "eot",
  // audio and video
  "mp3",
  "mp4",
  "m4a",
  "wav",
  "ogg",
  "flac",
  "aac",
  "avi",
  "mov",
  "mkv",
  "webm",
  // archives and packages
  "zip",
  "tar",
  "gz",
  "tgz",
  "bz2",
  "xz",
  "zst",
  "7z",
  "rar",
  "jar",
  "war",
  "ear",
  "whl",
  "egg",
  "gem",
  "nupkg",
  "deb",
  "rpm",
  "dmg",
  "iso",
  "apk",
  "ipa",
  // compiled code and native binaries
  "exe",
  "dll",
  "so",
  "dylib",
  "a",
  "lib",
  "o",
  "obj",
  "class",
  "pyc",
  "pyo",
  "wasm",
  "node",
  "bin",
  // documents, databases and data blobs
  "pdf",
  "doc",
  "docx",
  "xls",
  "xlsx",
  "ppt",
  "pptx",
  "db",
  "sqlite",
  "sqlite3",
  "parquet",
  "avro",
  "pkl",
  "npy",
  "npz",
  "h5",
  "onnx",
  "pt",
  "pth",
  "safetensors",
];

/** Built-in excludes: dependencies, build output, VCS data, lock files, generated and binary files. */
export const DEFAULT_EXCLUDES: readonly string[] = Object.freeze([
  // dependencies and build output
  "**/node_modules",
  "**/bower_components",
  "**/vendor",
  "**/dist",
  "**/build",
  "**/out",
  "**/target",
  "**/coverage",
  "**/.next",
  "**/.nuxt",
  "**/.svelte-kit",
  "**/.turbo",
  "**/.cache",
  "**/.gradle",
  "**/__pycache__",
  "**/.venv",
  "**/.tox",
  "**/.mypy_cache",
  "**/.pytest_cache",
  // version control
  "**/.git",
  "**/.hg",
  "**/.svn",
  // lock files
  "**/package-lock.json",
  "**/npm-shrinkwrap.json",
  "**/yarn.lock",
  "**/pnpm-lock.yaml",
  "**/bun.lock",
  "**/bun.lockb",
  "**/deno.lock",
  "**/Cargo.lock",
  "**/poetry.lock",
  "**/Pipfile.lock",
  "**/uv.lock",
  "**/pdm.lock",
  "**/Gemfile.lock",
  "**/go.sum",
  "**/composer.lock",
  "**/mix.lock",
  "**/pubspec.lock",
  "**/Podfile.lock",
  "**/packages.lock.json",
  "**/gradle.lockfile",
  "**/flake.lock",
  "**/*.lock",
  // minified, source maps, generated
  "**/*.min.js",
  "**/*.min.mjs",
  "**/*.min.css",
  "**/*.map",
  "**/*.pb.go",
  "**/*.pb.cc",
  "**/*.pb.h",
  "**/*_pb2.py",
  "**/*_pb2_grpc.py",
  "**/*_generated.*",
  "**/*.generated.*",
  // images, archives, binaries
  `**/*.{${BINARY_EXTENSIONS.join(",")}}`,
]);

function invalid(glob: string, field: string, index: number, why: string): ValidationError {
  return new ValidationError(`invalid glob ${JSON.stringify(glob)} in ${field}: ${why}`, [
    { path: `${field}[${index}]`, message: why },
  ]);
}

/** Brackets, braces and parentheses must balance (outside escapes and character classes). */
function unbalanced(glob: string): string | undefined {
  const stack: string[] = [];
  const pairs: Record<string, string> = { "]": "[", "}": "{", ")": "(" };
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "\\") {
      i++;
      continue;
    }
    if (stack[stack.length - 1] === "[") {
      // Inside a class only "]" is special (a leading "]" or "!]" / "^]" is a literal).
      if (c === "]" && !/\[[!^]?$/.test(glob.slice(0, i))) stack.pop();
      continue;
    }
    if (c === "[" || c === "{" || c === "(") stack.push(c);
    else if (c === "]" || c === "}" || c === ")") {
      if (stack.pop() !== pairs[c]) return `unbalanced "${c}"`;
    }
  }
  const open = stack.pop();
  return open === undefined ? undefined : `unclosed "${open}"`;
}

/**
 * Checks and normalises globs: trims, drops a leading "./" and a trailing "/". Throws a
 * ValidationError naming the first bad glob: empty, absolute, with "..", a Windows separator, a "!"
 * negation (use exclude), control characters, unbalanced brackets, a syntax RE2 refuses, or one
 * over GLOB_LIMITS (length, wildcards, alternatives; at most 100 globs per list).
 */
export function validateGlobs(globs: string[], field = "globs"): string[] {
  if (!Array.isArray(globs))
    throw new ValidationError(`${field} must be a list of globs`, [
      { path: field, message: "not a list" },
    ]);
  if (globs.length > GLOB_LIMITS.maxGlobs)
    throw new ValidationError(`${field} may hold at most ${GLOB_LIMITS.maxGlobs} globs`, [
      { path: field, message: `more than ${GLOB_LIMITS.maxGlobs}` },
    ]);
  const out: string[] = [];
  globs.forEach((raw, index) => {
    if (typeof raw !== "string") throw invalid(String(raw), field, index, "not a string");
    let glob = raw.trim();
    while (glob.startsWith("./")) glob = glob.slice(2);
    while (glob.length > 1 && glob.endsWith("/")) glob = glob.slice(0, -1);
    if (glob === "" || glob === ".") throw invalid(raw, field, index, "empty");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
    if (/[\u0000-\u001f\u007f]/.test(glob))
      throw invalid(raw, field, index, "contains a control character");
    if (glob.startsWith("/"))
      throw invalid(raw, field, index, "must be relative to the repository root (no leading /)");
    // A backslash escapes a glob character (`app/\[id\]/page.tsx`); any other is a Windows separator.
    if (/^[A-Za-z]:/.test(glob) || /\\(?![*?[\](){}!@+|\\,^$.#-])/.test(glob)) {
      throw invalid(
        raw,
        field,
        index,
        'use "/" as the separator (a backslash only escapes a glob character)',
      );
    }
    if (glob.split("/").includes("..")) throw invalid(raw, field, index, 'must not contain ".."');
    if (glob.startsWith("!"))
      throw invalid(
        raw,
        field,
        index,
        "negation is not supported; put the pattern in exclude instead",
      );
    const balance = unbalanced(glob);
    if (balance) throw invalid(raw, field, index, balance);
    try {
      checkGlob(glob);
    } catch (error) {
      if (error instanceof GlobSyntaxError) throw invalid(raw, field, index, error.message);
      throw error;
    }
    out.push(glob);
  });
  return out;
}

type Matcher = PathMatcher;

function normalisePath(path: string): string {
  let p = path;
  while (p.startsWith("./")) p = p.slice(2);
  while (p.startsWith("/")) p = p.slice(1);
  return p;
}

let defaultMatcher: Matcher | undefined;

/**
 * A predicate over repository paths and sizes. Checks in order: exclude → "excluded", include
 * (when not empty) → "not-included", built-in excludes → "default-excluded", size over
 * maxFileBytes → "too-large". Throws ValidationError for bad options.
 */
export function createPathFilter(
  options: FilterOptions,
): (path: string, sizeBytes: number) => PathVerdict {
  if (!Number.isInteger(options.maxFileBytes) || options.maxFileBytes < 1) {
    throw new ValidationError("maxFileBytes must be a positive whole number", [
      { path: "maxFileBytes", message: "invalid" },
    ]);
  }
  const include = compileGlobs(validateGlobs(options.include, "include"));
  const exclude = compileGlobs(validateGlobs(options.exclude, "exclude"));
  const useDefaults = options.defaultExcludes ?? true;
  if (useDefaults)
    defaultMatcher ??= compileGlobs(DEFAULT_EXCLUDES, { nocase: true, limits: false });
  const defaults = useDefaults ? defaultMatcher : undefined;
  const { maxFileBytes } = options;
  return (rawPath, sizeBytes) => {
    const path = normalisePath(rawPath);
    if (exclude?.(path)) return { ok: false, reason: "excluded" };
    if (include && !include(path)) return { ok: false, reason: "not-included" };
    if (defaults?.(path)) return { ok: false, reason: "default-excluded" };
    if (sizeBytes > maxFileBytes) return { ok: false, reason: "too-large" };
    return { ok: true };
  };
}

export type ContentResult =
  | { ok: true; text: string /** invalid UTF-8 was replaced with U+FFFD */; lossy: boolean }
  | { ok: false; reason: "binary" | "empty" };

/** How much of the start of a file is examined for binary content. */
const SNIFF_BYTES = 8192;
/** More than this share of control bytes in the sample means binary. */
const CONTROL_RATIO = 0.1;

function controlRatio(bytes: Uint8Array, end: number): number {
  let control = 0;
  for (let i = 0; i < end; i++) {
    const b = bytes[i] as number;
    // Tab, LF, VT, FF, CR and ESC (ANSI colours in logs) are text.
    if (
      (b < 32 && b !== 9 && b !== 10 && b !== 11 && b !== 12 && b !== 13 && b !== 27) ||
      b === 127
    )
      control++;
  }
  return end === 0 ? 0 : control / end;
}

function decode(
  bytes: Uint8Array,
  encoding: "utf-8" | "utf-16le" | "utf-16be",
): { text: string; lossy: boolean } {
  try {
    return { text: new TextDecoder(encoding, { fatal: true }).decode(bytes), lossy: false };
  } catch {
    return { text: new TextDecoder(encoding).decode(bytes), lossy: true };
  }
}

const NON_WHITESPACE = /\S/;

/**
 * Decides whether fetched bytes are text worth indexing, and decodes them. UTF-8 (a BOM is
 * dropped); UTF-16 with a BOM is decoded too. Binary: a NUL byte, or more than 10% control
 * bytes, in the first 8 KiB. Empty: no bytes, or whitespace only. Invalid UTF-8 in what is
 * otherwise text is replaced with U+FFFD and reported as lossy, not skipped.
 */
export function inspectContent(bytes: Uint8Array): ContentResult {
  if (bytes.length === 0) return { ok: false, reason: "empty" };
  const b0 = bytes[0];
  const b1 = bytes[1];
  const utf16 =
    b0 === 0xff && b1 === 0xfe ? "utf-16le" : b0 === 0xfe && b1 === 0xff ? "utf-16be" : undefined;
  let decoded: { text: string; lossy: boolean };
  if (utf16) {
    decoded = decode(bytes, utf16);
    // The same checks, on the decoded characters.
    const sample = decoded.text.slice(0, SNIFF_BYTES);
    let control = 0;
    for (let i = 0; i < sample.length; i++) {
      const c = sample.charCodeAt(i);
      if (
        (c < 32 && c !== 9 && c !== 10 && c !== 11 && c !== 12 && c !== 13 && c !== 27) ||
        c === 127
      )
        control++;
    }
    if (
      sample.includes("\u0000") ||
      (sample.length > 0 && control / sample.length > CONTROL_RATIO)
    ) {
      return { ok: false, reason: "binary" };
    }
  } else {
    const end = Math.min(bytes.length, SNIFF_BYTES);
    if (bytes.subarray(0, end).includes(0)) return { ok: false, reason: "binary" };
    if (controlRatio(bytes, end) > CONTROL_RATIO) return { ok: false, reason: "binary" };
    decoded = decode(bytes, "utf-8");
  }
  if (!NON_WHITESPACE.test(decoded.text)) return { ok: false, reason: "empty" };
  return { ok: true, text: decoded.text, lossy: decoded.lossy };
}
