import path from "node:path";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../lib/errors";
import {
  createSourceReader,
  diffListings,
  type FileEntry,
  parseSourceArgument,
} from "../../lib/sources";

describe("parseSourceArgument", () => {
  it("reads local paths as git sources with absolute locations", () => {
    expect(parseSourceArgument("./repo")).toEqual({ kind: "git", location: path.resolve("repo") });
    expect(parseSourceArgument("../up/repo")).toEqual({
      kind: "git",
      location: path.resolve("../up/repo"),
    });
    expect(parseSourceArgument(".")).toEqual({ kind: "git", location: process.cwd() });
    expect(parseSourceArgument("/abs/path/repo")).toEqual({
      kind: "git",
      location: "/abs/path/repo",
    });
    expect(parseSourceArgument("  /abs/trimmed  ")).toEqual({
      kind: "git",
      location: "/abs/trimmed",
    });
  });

  it("reads GitHub repositories", () => {
    const expected = { kind: "github", location: "octo-org/hello.world" };
    expect(parseSourceArgument("github:octo-org/hello.world")).toEqual(expected);
    expect(parseSourceArgument("https://github.com/octo-org/hello.world")).toEqual(expected);
    expect(parseSourceArgument("https://github.com/octo-org/hello.world.git")).toEqual(expected);
    expect(parseSourceArgument("https://github.com/octo-org/hello.world/")).toEqual(expected);
    expect(parseSourceArgument("http://www.github.com/octo-org/hello.world")).toEqual(expected);
  });

  it("reads other git URLs as git sources, unchanged", () => {
    for (const url of [
      "file:///srv/git/repo.git",
      "ssh://git@example.com/team/repo.git",
      "git://example.com/repo.git",
      "https://gitlab.com/team/repo.git",
      "git@github.com:octo-org/hello.git",
    ]) {
      expect(parseSourceArgument(url)).toEqual({ kind: "git", location: url });
    }
  });

  it("refuses bad input with a message that says what to write", () => {
    const cases: [string, RegExp][] = [
      ["", /empty/],
      ["   ", /empty/],
      ["octo-org/hello", /ambiguous: use github:octo-org\/hello .* \.\/octo-org\/hello/],
      ["repo", /expected a local path/],
      ["github:", /owner\/repo/],
      ["github:just-owner", /owner\/repo/],
      ["github:a/b/c", /owner\/repo/],
      ["github:-bad/repo", /owner\/repo/],
      ["https://github.com/octo-org", /github\.com\/owner\/repo/],
      ["https://github.com/octo-org/hello/tree/main", /github\.com\/owner\/repo/],
      ["https://x-access-token:abc@github.com/o/r", /credentials/],
      ["https://user:token@git.example.com/repo.git", /credentials do not belong/],
      ["https://glpat-0123456789abcdef@gitlab.com/team/repo.git", /credentials do not belong/],
      ["git://user@example.com/repo.git", /credentials do not belong/],
      ["ssh://git:hunter2@example.com/repo.git", /credentials do not belong/],
      ["https://gitlab.com/team/repo.git?private_token=abc", /no query string/],
      ["file://otherhost/srv/repo.git", /local path/],
      ["ftp://example.com/repo.git", /unsupported URL scheme ftp/],
      ["ext::sh -c touch% /tmp/pwned", /expected a local path/],
      ["file://", /needs a path|not a valid URL/],
      ["--upload-pack=evil", /must not start with '-'/],
      ["./repo\nsecond line", /control characters/],
    ];
    for (const [input, message] of cases) {
      let error: unknown;
      try {
        parseSourceArgument(input);
      } catch (e) {
        error = e;
      }
      expect(error, input).toBeInstanceOf(ValidationError);
      expect((error as Error).message, input).toMatch(message);
      // A refused credential is not echoed back.
      for (const secret of ["token@", "glpat-0123456789abcdef", "hunter2", "abc@"])
        expect((error as Error).message, input).not.toContain(secret);
    }
  });
});

describe("createSourceReader", () => {
  it("validates the source before any I/O", () => {
    const workDir = "/nonexistent-work-dir";
    expect(() => createSourceReader({ kind: "github", location: "o/r" }, { workDir })).toThrow(
      /GitHub settings/,
    );
    expect(() =>
      createSourceReader(
        { kind: "github", location: "o/r" },
        { workDir, github: { apiUrl: "http://x", appId: "1" } },
      ),
    ).toThrow(/appId and privateKey/);
    expect(() => createSourceReader({ kind: "svn" as "git", location: "/x" }, { workDir })).toThrow(
      ValidationError,
    );
    expect(() => createSourceReader({ kind: "git", location: "-C/etc" }, { workDir })).toThrow(
      ValidationError,
    );
  });
});

describe("diffListings", () => {
  const f = (p: string, blobSha: string, size = 1): FileEntry => ({ path: p, blobSha, size });
  const sha = (c: string) => c.repeat(40);

  it("pairs exact-content moves as renames and reports the rest", () => {
    const before = [
      f("same", sha("1")),
      f("edit", sha("2")),
      f("gone", sha("3")),
      f("old", sha("4")),
    ];
    const after = [
      f("same", sha("1")),
      f("edit", sha("5")),
      f("new", sha("6")),
      f("moved/old", sha("4")),
    ];
    expect(diffListings(before, after)).toEqual([
      { type: "modified", path: "edit", blobSha: sha("5"), size: 1 },
      { type: "added", path: "new", blobSha: sha("6"), size: 1 },
      { type: "renamed", oldPath: "old", path: "moved/old", blobSha: sha("4"), size: 1 },
      { type: "removed", path: "gone" },
    ]);
  });

  it("pairs duplicates one to one", () => {
    const before = [f("a", sha("7")), f("b", sha("7"))];
    const after = [f("c", sha("7")), f("d", sha("7")), f("e", sha("7"))];
    const changes = diffListings(before, after);
    expect(changes.filter((c) => c.type === "renamed")).toHaveLength(2);
    expect(changes.filter((c) => c.type === "added")).toHaveLength(1);
    expect(changes.filter((c) => c.type === "removed")).toHaveLength(0);
  });
});
