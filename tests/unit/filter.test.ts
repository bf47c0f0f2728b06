import { describe, expect, it } from "vitest";
import { ValidationError } from "../../lib/errors";
import {
  createPathFilter,
  DEFAULT_EXCLUDES,
  type FilterOptions,
  inspectContent,
  validateGlobs,
} from "../../lib/sources/filter";

const MiB = 1024 * 1024;

function filter(options: Partial<FilterOptions> = {}) {
  return createPathFilter({ include: [], exclude: [], maxFileBytes: MiB, ...options });
}

function thrown(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error("expected a ValidationError");
}

describe("validateGlobs", () => {
  it("normalises what it accepts", () => {
    expect(
      validateGlobs([
        " ./src/ ",
        "docs/**",
        "**/*.{ts,tsx}",
        "[ab].md",
        "a(1).txt",
        "app/\\[id\\]/page.tsx",
      ]),
    ).toEqual(["src", "docs/**", "**/*.{ts,tsx}", "[ab].md", "a(1).txt", "app/\\[id\\]/page.tsx"]);
    expect(validateGlobs([])).toEqual([]);
  });

  it.each([
    ["", "empty"],
    ["   ", "empty"],
    ["./", "empty"],
    ["/etc/passwd", "no leading /"],
    ["C:/repo/src", 'use "/" as the separator'],
    ["src\\lib\\a.ts", 'use "/" as the separator'],
    ["src/../secrets", 'must not contain ".."'],
    ["!docs/**", "negation is not supported"],
    ["{a,b", 'unclosed "{"'],
    ["src/[abc", 'unclosed "["'],
    ["@(a|b", 'unclosed "("'],
    ["a}b", 'unbalanced "}"'],
    ["src/\u0000x", "control character"],
  ])("rejects %j, naming it", (glob, why) => {
    const error = thrown(() => validateGlobs(["src/**", glob], "include"));
    expect(error.message).toContain(JSON.stringify(glob));
    expect(error.message).toContain(why);
    expect(error.issues).toEqual([{ path: "include[1]", message: expect.stringContaining(why) }]);
  });

  it("rejects what is not a list of strings", () => {
    expect(() => validateGlobs("src/**" as unknown as string[])).toThrow(ValidationError);
    expect(() => validateGlobs([42 as unknown as string])).toThrow(ValidationError);
  });
});

describe("createPathFilter", () => {
  it("includes everything when include is empty, and says why it skips the rest", () => {
    const accept = filter({ exclude: ["docs/internal/**"], maxFileBytes: 1000 });
    expect(accept("src/index.ts", 10)).toEqual({ ok: true });
    expect(accept(".github/workflows/ci.yml", 10)).toEqual({ ok: true });
    expect(accept("docs/internal/plan.md", 10)).toEqual({ ok: false, reason: "excluded" });
    expect(accept("node_modules/react/index.js", 10)).toEqual({
      ok: false,
      reason: "default-excluded",
    });
    expect(accept("src/big.ts", 1001)).toEqual({ ok: false, reason: "too-large" });
    expect(accept("src/exact.ts", 1000)).toEqual({ ok: true });
  });

  it("applies include globs, dotfiles included", () => {
    const accept = filter({ include: ["src/**/*.ts", "**/*.yml", "*.md"] });
    expect(accept("src/a.ts", 1)).toEqual({ ok: true });
    expect(accept("src/deep/er/b.ts", 1)).toEqual({ ok: true });
    expect(accept(".github/workflows/ci.yml", 1)).toEqual({ ok: true });
    expect(accept("src/.hidden/c.ts", 1)).toEqual({ ok: true });
    expect(accept("README.md", 1)).toEqual({ ok: true });
    expect(accept("docs/guide.md", 1)).toEqual({ ok: false, reason: "not-included" });
    expect(accept("src/a.js", 1)).toEqual({ ok: false, reason: "not-included" });
  });

  it("treats a glob that names a directory as everything under it", () => {
    const accept = filter({ include: ["packages/core"], exclude: ["packages/core/test/"] });
    expect(accept("packages/core/src/index.ts", 1)).toEqual({ ok: true });
    expect(accept("packages/core/test/a.test.ts", 1)).toEqual({ ok: false, reason: "excluded" });
    expect(accept("packages/core-extra/index.ts", 1)).toEqual({
      ok: false,
      reason: "not-included",
    });
  });

  it("checks exclude before include, include before the defaults, the defaults before size", () => {
    const accept = filter({
      include: ["vendor/**", "src/**"],
      exclude: ["src/gen/**"],
      maxFileBytes: 10,
    });
    expect(accept("src/gen/big.ts", 999)).toEqual({ ok: false, reason: "excluded" });
    expect(accept("lib/big.ts", 999)).toEqual({ ok: false, reason: "not-included" });
    expect(accept("vendor/lib/big.js", 999)).toEqual({ ok: false, reason: "default-excluded" });
    expect(accept("src/big.ts", 999)).toEqual({ ok: false, reason: "too-large" });
  });

  it("matches user globs case-sensitively and the built-in excludes case-insensitively", () => {
    const accept = filter({ exclude: ["Docs/**"] });
    expect(accept("docs/a.md", 1)).toEqual({ ok: true });
    expect(accept("Docs/a.md", 1)).toEqual({ ok: false, reason: "excluded" });
    expect(accept("assets/LOGO.PNG", 1)).toEqual({ ok: false, reason: "default-excluded" });
  });

  it("can turn the built-in excludes off", () => {
    const accept = filter({ defaultExcludes: false });
    expect(accept("node_modules/react/index.js", 1)).toEqual({ ok: true });
    expect(accept("package-lock.json", 1)).toEqual({ ok: true });
  });

  it("accepts paths with a leading ./ or /", () => {
    const accept = filter({ include: ["src/**"] });
    expect(accept("./src/a.ts", 1)).toEqual({ ok: true });
    expect(accept("/src/a.ts", 1)).toEqual({ ok: true });
  });

  it.each([
    // dependencies, build output, VCS
    "node_modules/lodash/index.js",
    "packages/web/node_modules/x/y.js",
    "vendor/github.com/pkg/errors/errors.go",
    "dist/index.js",
    "packages/api/build/server.js",
    "out/main.js",
    ".next/server/app.js",
    ".git/config",
    "target/debug/app.d",
    "src/__pycache__/mod.cpython-312.pyc",
    // lock files
    "package-lock.json",
    "web/yarn.lock",
    "pnpm-lock.yaml",
    "Cargo.lock",
    "poetry.lock",
    "Gemfile.lock",
    "go.sum",
    "composer.lock",
    "bun.lockb",
    // minified and generated
    "public/app.min.js",
    "public/site.min.css",
    "dist-maps/app.js.map",
    "api/v1/service.pb.go",
    "proto/service_pb2.py",
    "src/schema_generated.ts",
    // images, archives, binaries
    "assets/logo.png",
    "assets/photo.JPEG",
    "icons/favicon.ico",
    "fonts/inter.woff2",
    "release/app.tar.gz",
    "release/app.zip",
    "bin/tool.exe",
    "lib/native.so",
    "docs/manual.pdf",
    "model/weights.safetensors",
  ])("excludes %s by default", (path) => {
    expect(filter()(path, 1)).toEqual({ ok: false, reason: "default-excluded" });
  });

  it.each([
    "src/index.ts",
    "src/build.ts",
    "src/distribution/index.ts",
    "docs/outline.md",
    "src/vendor.ts",
    "lib/map.ts",
    "scripts/lock.sh",
    "Makefile",
    ".github/workflows/ci.yml",
    "README.md",
  ])("keeps %s by default", (path) => {
    expect(filter()(path, 1)).toEqual({ ok: true });
  });

  it("lists its built-in excludes", () => {
    expect(DEFAULT_EXCLUDES).toContain("**/node_modules");
    expect(DEFAULT_EXCLUDES).toContain("**/package-lock.json");
    expect(Object.isFrozen(DEFAULT_EXCLUDES)).toBe(true);
  });

  it("rejects bad options with a ValidationError naming the field", () => {
    expect(thrown(() => filter({ include: ["src/**", "{oops"] })).issues).toEqual([
      { path: "include[1]", message: 'unclosed "{"' },
    ]);
    expect(thrown(() => filter({ exclude: ["../x"] })).issues?.[0]?.path).toBe("exclude[0]");
    for (const maxFileBytes of [0, -1, 1.5, Number.NaN]) {
      expect(thrown(() => filter({ maxFileBytes })).issues?.[0]?.path).toBe("maxFileBytes");
    }
  });
});

describe("inspectContent", () => {
  const utf8 = (text: string) => new TextEncoder().encode(text);

  it("decodes UTF-8 text", () => {
    expect(inspectContent(utf8("export const π = 3.14; // ünïcödé ✓\n"))).toEqual({
      ok: true,
      text: "export const π = 3.14; // ünïcödé ✓\n",
      lossy: false,
    });
  });

  it("drops a UTF-8 byte-order mark", () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...utf8("# Title\n")]);
    expect(inspectContent(bytes)).toEqual({ ok: true, text: "# Title\n", lossy: false });
  });

  it("decodes UTF-16 with a byte-order mark", () => {
    const text = "Hello, wörld\r\n";
    const le = new Uint8Array(2 + text.length * 2);
    le.set([0xff, 0xfe]);
    for (let i = 0; i < text.length; i++) {
      le[2 + i * 2] = text.charCodeAt(i) & 0xff;
      le[3 + i * 2] = text.charCodeAt(i) >> 8;
    }
    expect(inspectContent(le)).toEqual({ ok: true, text, lossy: false });
    const be = new Uint8Array(le.length);
    be.set([0xfe, 0xff]);
    for (let i = 2; i < le.length; i += 2) {
      be[i] = le[i + 1] as number;
      be[i + 1] = le[i] as number;
    }
    expect(inspectContent(be)).toEqual({ ok: true, text, lossy: false });
  });

  it("replaces invalid UTF-8 in otherwise-text files and says so", () => {
    // "café" in Latin-1, inside UTF-8 text.
    const bytes = new Uint8Array([...utf8("name = caf"), 0xe9, ...utf8("\nprice = 3\n")]);
    expect(inspectContent(bytes)).toEqual({
      ok: true,
      text: "name = caf\uFFFD\nprice = 3\n",
      lossy: true,
    });
  });

  it("keeps ANSI colour codes (text with ESC) as text", () => {
    const log = "\u001b[32mPASS\u001b[0m all tests\n".repeat(20);
    expect(inspectContent(utf8(log))).toMatchObject({ ok: true, lossy: false });
  });

  it("calls empty files and whitespace-only files empty", () => {
    expect(inspectContent(new Uint8Array())).toEqual({ ok: false, reason: "empty" });
    expect(inspectContent(utf8(" \n\t\r\n  "))).toEqual({ ok: false, reason: "empty" });
    expect(inspectContent(new Uint8Array([0xef, 0xbb, 0xbf, 0x0a]))).toEqual({
      ok: false,
      reason: "empty",
    });
  });

  it("calls a NUL byte in the first 8 KiB binary", () => {
    const png = new Uint8Array([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52,
    ]);
    expect(inspectContent(png)).toEqual({ ok: false, reason: "binary" });
    const late = new Uint8Array(8000).fill(0x61);
    late[7999] = 0;
    expect(inspectContent(late)).toEqual({ ok: false, reason: "binary" });
  });

  it("calls a high share of control bytes binary", () => {
    const bytes = new Uint8Array(4000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = i % 5 === 0 ? 0x01 + (i % 7) : 0x41;
    expect(inspectContent(bytes)).toEqual({ ok: false, reason: "binary" });
    // A few control bytes are tolerated.
    const mostlyText = utf8(`${"plain words ".repeat(200)}\u0007\u0008`);
    expect(inspectContent(mostlyText)).toMatchObject({ ok: true });
  });

  it("looks for binary content in the first 8 KiB only", () => {
    const bytes = new Uint8Array(9000).fill(0x61);
    bytes[8500] = 0;
    const result = inspectContent(bytes);
    expect(result.ok).toBe(true);
  });
});
