import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  CHUNKER_VERSION,
  type Chunk,
  type ChunkOptions,
  chunkDocument,
  detectLanguage,
  MIN_CHUNK_SIZE,
} from "../../lib/chunking";
import { ValidationError } from "../../lib/errors";

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const TS_SERVICE = `import { createHash } from "node:crypto";
import type { Database } from "../db/client";
import { NotFoundError } from "./errors";

export interface Account {
  id: string;
  email: string;
  createdAt: Date;
}

export type AccountPatch = Partial<Pick<Account, "email">>;

const CACHE_TTL_MS = 60_000;

/**
 * Hashes an e-mail address for lookups, so that the address itself never reaches a log line.
 * Lower-cases first: addresses are case-insensitive in practice.
 */
export function emailKey(email: string): string {
  return createHash("sha256").update(email.trim().toLowerCase()).digest("hex");
}

@injectable()
export class AccountService {
  private readonly cache = new Map<string, { account: Account; at: number }>();

  constructor(private readonly db: Database) {}

  async get(id: string): Promise<Account> {
    const hit = this.cache.get(id);
    if (hit && Date.now() - hit.at < CACHE_TTL_MS) return hit.account;
    const account = await this.db.query.accounts.findFirst({ where: (a, { eq }) => eq(a.id, id) });
    if (!account) throw new NotFoundError(\`account \${id} not found\`);
    this.cache.set(id, { account, at: Date.now() });
    return account;
  }

  async update(id: string, patch: AccountPatch): Promise<Account> {
    const current = await this.get(id);
    const next = { ...current, ...patch };
    await this.db.update(accounts).set(next).where(eq(accounts.id, id));
    this.cache.delete(id);
    return next;
  }

  async remove(id: string): Promise<void> {
    await this.db.delete(accounts).where(eq(accounts.id, id));
    this.cache.delete(id);
  }

  /** Drops cache entries older than the TTL; call from a timer. */
  sweep(now = Date.now()): number {
    let dropped = 0;
    for (const [id, entry] of this.cache) {
      if (now - entry.at >= CACHE_TTL_MS) {
        this.cache.delete(id);
        dropped++;
      }
    }
    return dropped;
  }
}

export const defaultService = (db: Database) => new AccountService(db);
`;

/** A file of 40 documented functions of varied length, as an edit-locality subject. */
function fortyFunctions(edit?: { index: number; line: string }): string {
  const parts: string[] = ['import { strict as assert } from "node:assert";', ""];
  for (let i = 0; i < 40; i++) {
    const body: string[] = [];
    const statements = 3 + ((i * 7) % 9);
    for (let s = 0; s < statements; s++) {
      body.push(
        `  const v${s} = input.values[${s}] * ${i + 1} + offset${s % 3 === 0 ? " - 1" : ""};`,
      );
    }
    if (edit && edit.index === i) body.splice(Math.floor(body.length / 2), 0, edit.line);
    parts.push(
      "/**",
      ` * Step ${i}: combines the inputs for stage ${i} of the pipeline.`,
      " */",
      `export function step${i}(input: { values: number[] }, offset: number): number {`,
      ...body,
      `  assert(Number.isFinite(v0));`,
      `  return v0 + ${i};`,
      "}",
      "",
    );
  }
  return parts.join("\n");
}

const PYTHON_MODULE = `"""Inventory management: stock levels, reservations and restocking."""

from __future__ import annotations

import dataclasses
import logging
from typing import Iterable

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 5


@dataclasses.dataclass(frozen=True)
class Item:
    sku: str
    name: str
    quantity: int = 0


class Inventory:
    """Keeps stock per SKU and the reservations made against it."""

    def __init__(self, items: Iterable[Item] = ()) -> None:
        self._items = {item.sku: item for item in items}
        self._reserved: dict[str, int] = {}

    @property
    def skus(self) -> list[str]:
        return sorted(self._items)

    def available(self, sku: str) -> int:
        item = self._items.get(sku)
        if item is None:
            raise KeyError(f"unknown sku {sku!r}")
        return item.quantity - self._reserved.get(sku, 0)

    def reserve(self, sku: str, count: int) -> None:
        if count <= 0:
            raise ValueError("count must be positive")
        if self.available(sku) < count:
            raise RuntimeError(f"not enough {sku}: {self.available(sku)} left")
        self._reserved[sku] = self._reserved.get(sku, 0) + count
        log.info("reserved %d of %s", count, sku)

    def release(self, sku: str, count: int) -> None:
        held = self._reserved.get(sku, 0)
        self._reserved[sku] = max(0, held - count)

    @staticmethod
    def parse_line(line: str) -> Item:
        sku, name, quantity = line.split(",")
        return Item(sku.strip(), name.strip(), int(quantity))


def needs_restock(inventory: Inventory, threshold: int = DEFAULT_THRESHOLD) -> list[str]:
    """SKUs whose available stock is at or under the threshold."""
    return [sku for sku in inventory.skus if inventory.available(sku) <= threshold]


if __name__ == "__main__":
    inv = Inventory([Item("A1", "anchor", 3), Item("B2", "buoy", 12)])
    print(needs_restock(inv))
`;

const GO_SERVER = `package server

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// ErrClosed is returned by Serve after Shutdown.
var ErrClosed = errors.New("server closed")

// Server serves the health and metrics endpoints.
type Server struct {
	addr    string
	timeout time.Duration
	srv     *http.Server
}

// New builds a server listening on addr.
func New(addr string, timeout time.Duration) *Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	return &Server{addr: addr, timeout: timeout, srv: &http.Server{Addr: addr, Handler: mux}}
}

// Start listens until the context ends.
func (s *Server) Start(ctx context.Context) error {
	errs := make(chan error, 1)
	go func() { errs <- s.srv.ListenAndServe() }()
	select {
	case <-ctx.Done():
		return s.Shutdown()
	case err := <-errs:
		if errors.Is(err, http.ErrServerClosed) {
			return ErrClosed
		}
		return err
	}
}

// Shutdown stops accepting connections and waits for the open ones.
func (s *Server) Shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	return s.srv.Shutdown(ctx)
}
`;

const INSTALL_SCRIPT = Array.from(
  { length: 40 },
  (_, i) => `sudo apt-get install -y package-number-${i}`,
).join("\n");

const MARKDOWN_GUIDE = `---
title: Ballast guide
tags: [sync, search]
---

# Ballast

Ballast keeps a searchable index of your repositories up to date. It listens for pushes,
chunks what changed and stores embeddings.

## Install

You need Node 20 or later.

### Linux

\`\`\`bash
# this is a shell comment, not a heading
curl -fsSL https://example.com/install.sh | sh

ballast --version
\`\`\`

### macOS

Use Homebrew:

\`\`\`bash
brew install ballast
\`\`\`

## Usage

Run a sync by hand:

\`\`\`bash
${INSTALL_SCRIPT}
\`\`\`

Then search:

| command | effect |
| --- | --- |
| \`ballast search "retry policy"\` | top matches |
| \`ballast status\` | sync state |

Configuration
-------------

Every setting is an environment variable. See the table above.

## FAQ

### Why not a vector database?

Postgres with pgvector is enough for millions of chunks.
`;

const PLAIN_TEXT = Array.from({ length: 14 }, (_, p) =>
  Array.from(
    { length: 2 + (p % 4) },
    (_, l) =>
      `Paragraph ${p} line ${l}: the quick brown fox jumps over the lazy dog while the committee deliberates.`,
  ).join("\n"),
).join("\n\n");

function minified(): string {
  const parts: string[] = [];
  for (let i = 0; i < 400; i++) {
    parts.push(`function a${i}(b,c){var d=b*${i}+c;return d>${i * 3}?d-${i}:d+${(i * 13) % 7}}`);
  }
  return `!function(){"use strict";${parts.join(";")}}();`;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const OPTIONS: ChunkOptions = { size: 600, overlap: 60 };
const KNOWN_TEXT = new Set(["text", "restructuredtext", "asciidoc", "org", "latex"]);

function normalised(text: string): string {
  return text.replace(/^\uFEFF/, "").replace(/\r\n/g, "\n");
}

/** The properties every chunking must have, whatever the input. */
function checkInvariants(path: string, text: string, options: ChunkOptions): Chunk[] {
  const chunks = chunkDocument(path, text, options);
  const norm = normalised(text);
  const lines = norm.split("\n");
  const lineStarts: number[] = [];
  for (let offset = 0, i = 0; i < lines.length; i++) {
    lineStarts.push(offset);
    offset += (lines[i] as string).length + 1;
  }
  const lineOf = (offset: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((lineStarts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const language = detectLanguage(path);
  const kind =
    language === "markdown" ? "markdown" : KNOWN_TEXT.has(language ?? "text") ? "text" : "code";
  // Nothing is lost: the chunks, in order, cover everything but whitespace.
  const placed = placeChunks(norm, chunks, lineStarts);
  if (!placed) throw new Error(`${path}: the chunks do not cover the text in order`);
  // Plain checks rather than expect(): this runs over thousands of chunks.
  const fail = (index: number, message: string) => {
    throw new Error(`${path} ${JSON.stringify(options)} chunk ${index}: ${message}`);
  };
  chunks.forEach((chunk, index) => {
    const { content } = chunk;
    if (chunk.ordinal !== index) fail(index, `ordinal ${chunk.ordinal}`);
    if (content.length > options.size) fail(index, `${content.length} characters, over the size`);
    if (content.trim() === "") fail(index, "empty or whitespace only");
    if (content.includes("\r\n")) fail(index, "contains CRLF");
    if (chunk.startLine < 1 || chunk.endLine < chunk.startLine || chunk.endLine > lines.length) {
      fail(index, `bad line range ${chunk.startLine}-${chunk.endLine}`);
    }
    // The documented contract: the chunk's lines contain its content.
    const range = lines.slice(chunk.startLine - 1, chunk.endLine).join("\n");
    if (!range.includes(content))
      fail(index, `not inside lines ${chunk.startLine}-${chunk.endLine}`);
    // And exactly: it starts on its start line and ends on its end line.
    const from = placed[index] as number;
    if (lineOf(from) !== chunk.startLine) fail(index, `starts on line ${lineOf(from)}`);
    if (lineOf(from + content.length - 1) !== chunk.endLine) fail(index, "ends on another line");
    if (chunk.contentHash !== createHash("sha256").update(content).digest("hex"))
      fail(index, "hash");
    if (chunk.kind !== kind) fail(index, `kind ${chunk.kind}`);
    // No chunk starts or ends inside a surrogate pair.
    const first = content.charCodeAt(0);
    const last = content.charCodeAt(content.length - 1);
    if ((first >= 0xdc00 && first <= 0xdfff) || (last >= 0xd800 && last <= 0xdbff))
      fail(index, "cuts a surrogate pair");
  });
  return chunks;
}

/**
 * Where each chunk sits in the normalised text, such that chunks come in document order (each
 * starting after the previous one's start) and nothing but whitespace lies between one chunk's
 * end and the next one's start. Content can repeat (a cut through a repetitive line), so this
 * searches, backtracking; undefined when no such placement exists, i.e. text was lost.
 */
function placeChunks(norm: string, chunks: Chunk[], lineStarts: number[]): number[] | undefined {
  const placed: number[] = [];
  const place = (k: number, lastFrom: number, lastTo: number): boolean => {
    if (k === chunks.length) return !/\S/.test(norm.slice(lastTo));
    const chunk = chunks[k] as Chunk;
    const lineEnd = lineStarts[chunk.startLine] ?? norm.length + 1;
    const from = Math.max(lastFrom + 1, lineStarts[chunk.startLine - 1] as number);
    for (
      let at = norm.indexOf(chunk.content, from);
      at !== -1 && at < lineEnd;
      at = norm.indexOf(chunk.content, at + 1)
    ) {
      if (at > lastTo && /\S/.test(norm.slice(lastTo, at))) break;
      placed[k] = at;
      if (place(k + 1, at, at + chunk.content.length)) return true;
    }
    return false;
  };
  return place(0, -1, 0) ? placed : undefined;
}

function headings(chunks: Chunk[]): (string | undefined)[] {
  return chunks.map((c) => c.heading);
}

/** The chunk that holds a given line of content. */
function chunkWith(chunks: Chunk[], needle: string): Chunk {
  const found = chunks.find((c) => c.content.includes(needle));
  if (!found) throw new Error(`no chunk contains ${JSON.stringify(needle)}`);
  return found;
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe("chunk options", () => {
  it("rejects an overlap of half the size or more, naming the field", () => {
    for (const overlap of [300, 301, 600, 1000]) {
      const error = (() => {
        try {
          chunkDocument("a.md", "# Title\n\ntext", { size: 600, overlap });
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues).toEqual([
        { path: "overlap", message: "must be less than half of size (600)" },
      ]);
    }
    expect(() => chunkDocument("a.md", "text", { size: 600, overlap: 299 })).not.toThrow();
  });

  it("rejects sizes and overlaps that are not sensible whole numbers", () => {
    const bad: ChunkOptions[] = [
      { size: 0, overlap: 0 },
      { size: MIN_CHUNK_SIZE - 1, overlap: 0 },
      { size: 100.5, overlap: 10 },
      { size: Number.NaN, overlap: 0 },
      { size: 100, overlap: -1 },
      { size: 100, overlap: 2.5 },
    ];
    for (const options of bad) {
      expect(() => chunkDocument("a.txt", "text", options), JSON.stringify(options)).toThrow(
        ValidationError,
      );
    }
  });

  it("has a version to put in the index's configuration hash", () => {
    expect(CHUNKER_VERSION).toMatch(/^\S+$/);
  });
});

describe("detectLanguage", () => {
  it.each([
    ["src/index.ts", "typescript"],
    ["app/page.tsx", "typescript"],
    ["lib/x.mjs", "javascript"],
    ["tool/run.py", "python"],
    ["cmd/main.go", "go"],
    ["src/lib.rs", "rust"],
    ["Main.java", "java"],
    ["App.kt", "kotlin"],
    ["Program.cs", "csharp"],
    ["vec.c", "c"],
    ["vec.hpp", "cpp"],
    ["app/models/user.rb", "ruby"],
    ["index.php", "php"],
    ["docs/README.md", "markdown"],
    ["docs/page.mdx", "markdown"],
    ["notes.txt", "text"],
    ["Dockerfile", "dockerfile"],
    ["sub/Makefile", "makefile"],
    ["config.YAML", "yaml"],
  ])("%s → %s", (path, language) => {
    expect(detectLanguage(path)).toBe(language);
  });

  it("returns undefined for unknown names", () => {
    expect(detectLanguage("data.xyz")).toBeUndefined();
    expect(detectLanguage("LICENSE-MIT")).toBeUndefined();
    expect(detectLanguage(".env")).toBeUndefined();
  });
});

describe("chunkDocument: degenerate input", () => {
  it("returns no chunks for empty and whitespace-only text", () => {
    expect(chunkDocument("a.ts", "", OPTIONS)).toEqual([]);
    expect(chunkDocument("a.md", "\n\n   \n\t\n", OPTIONS)).toEqual([]);
    expect(chunkDocument("a.txt", "\r\n\r\n", OPTIONS)).toEqual([]);
  });

  it("keeps a small file as one chunk with exact lines", () => {
    const chunks = checkInvariants("a.ts", "\n\nexport const answer = 42;\n\n", OPTIONS);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toMatchObject({
      ordinal: 0,
      content: "export const answer = 42;",
      startLine: 3,
      endLine: 3,
      kind: "code",
      heading: "const answer",
    });
  });

  it("is deterministic", () => {
    for (const [path, text] of [
      ["a.ts", TS_SERVICE],
      ["a.md", MARKDOWN_GUIDE],
      ["a.txt", PLAIN_TEXT],
    ] as const) {
      expect(chunkDocument(path, text, OPTIONS)).toEqual(chunkDocument(path, text, OPTIONS));
    }
  });
});

describe("chunkDocument: code", () => {
  it("splits TypeScript at declarations and names the symbols", () => {
    const chunks = checkInvariants("src/accounts.ts", TS_SERVICE, { size: 500, overlap: 50 });
    expect(chunks.every((c) => c.kind === "code")).toBe(true);
    // The doc comment travels with its function.
    const emailKey = chunkWith(chunks, "export function emailKey");
    expect(emailKey.content).toContain("Hashes an e-mail address");
    expect(emailKey.heading).toBe("function emailKey");
    // The decorator stays with its class, and the class is split at its methods.
    const classHead = chunkWith(chunks, "export class AccountService");
    expect(classHead.content).toContain("@injectable()");
    expect(classHead.heading).toBe("class AccountService");
    expect(chunkWith(chunks, "async update(id").heading).toMatch(
      /^class AccountService > method (get|update)$/,
    );
    expect(chunkWith(chunks, "sweep(now = Date.now())").heading).toMatch(
      /^class AccountService > method /,
    );
    // No method is cut in the middle: every method starts and ends in the same chunk.
    for (const name of ["async get(", "async update(", "async remove(", "sweep("]) {
      const chunk = chunkWith(chunks, name);
      const method = chunk.content.slice(chunk.content.indexOf(name));
      expect(method).toMatch(/\n {2}}/);
    }
  });

  it("splits Python classes at methods and keeps decorators on what they decorate", () => {
    const chunks = checkInvariants("inventory.py", PYTHON_MODULE, { size: 600, overlap: 60 });
    expect(chunkWith(chunks, "class Item:").content).toContain(
      "@dataclasses.dataclass(frozen=True)",
    );
    expect(chunkWith(chunks, "def parse_line").content).toContain("@staticmethod");
    expect(chunkWith(chunks, "def skus").content).toContain("@property");
    expect(chunkWith(chunks, "def reserve").heading).toMatch(/^class Inventory > method /);
    expect(chunkWith(chunks, "def needs_restock").heading).toBe("function needs_restock");
    // Methods are whole.
    const reserve = chunkWith(chunks, "def reserve");
    expect(reserve.content).toContain('log.info("reserved %d of %s", count, sku)');
  });

  it("splits Go at functions and names methods with their receiver", () => {
    const chunks = checkInvariants("server/server.go", GO_SERVER, { size: 400, overlap: 40 });
    expect(chunkWith(chunks, "func (s *Server) Start").heading).toBe("method Server.Start");
    expect(chunkWith(chunks, "func (s *Server) Shutdown").content).toContain(
      "// Shutdown stops accepting",
    );
    const start = chunkWith(chunks, "func (s *Server) Start");
    expect(start.content).toContain("return err\n\t}\n}");
  });

  it("merges small neighbouring declarations up to the size", () => {
    const chunks = checkInvariants("src/accounts.ts", TS_SERVICE, { size: 1600, overlap: 100 });
    const withInterface = chunkWith(chunks, "export interface Account");
    expect(withInterface.content).toContain("export type AccountPatch");
    expect(chunks.length).toBeLessThan(5);
  });

  it("splits a function larger than the size by lines, with overlap between the pieces", () => {
    const body = Array.from(
      { length: 120 },
      (_, i) => `  total += values[${i}] * weights[${i % 7}];`,
    ).join("\n");
    const text = `export function huge(values: number[], weights: number[]): number {\n  let total = 0;\n${body}\n  return total;\n}\n`;
    const chunks = checkInvariants("huge.ts", text, { size: 500, overlap: 80 });
    expect(chunks.length).toBeGreaterThan(5);
    expect(chunks.every((c) => c.heading === "function huge")).toBe(true);
    for (let i = 1; i < chunks.length; i++) {
      const previous = chunks[i - 1] as Chunk;
      const chunk = chunks[i] as Chunk;
      const firstLine = chunk.content.split("\n")[0] as string;
      expect(
        previous.content.endsWith(firstLine) || previous.content.includes(`${firstLine}\n`),
      ).toBe(true);
      const shared = previous.endLine - chunk.startLine + 1;
      expect(shared).toBeGreaterThanOrEqual(1);
      expect(chunk.content.split("\n").slice(0, shared).join("\n").length).toBeLessThanOrEqual(80);
    }
  });

  it("hard-splits a minified one-line file, every piece within the size", () => {
    const text = minified();
    const chunks = checkInvariants("vendor/app.min.js", text, { size: 1000, overlap: 100 });
    expect(chunks.length).toBeGreaterThan(text.length / 1000);
    for (const chunk of chunks) {
      expect(chunk.startLine).toBe(1);
      expect(chunk.endLine).toBe(1);
    }
    // Consecutive pieces overlap by characters.
    for (let i = 1; i < chunks.length; i++) {
      const previous = (chunks[i - 1] as Chunk).content;
      const head = (chunks[i] as Chunk).content.slice(0, 20);
      expect(previous.includes(head)).toBe(true);
    }
  });
});

describe("chunkDocument: markdown", () => {
  const chunks = checkInvariants("docs/guide.md", MARKDOWN_GUIDE, { size: 500, overlap: 50 });

  it("keeps heading paths", () => {
    expect(chunks.every((c) => c.kind === "markdown")).toBe(true);
    // Sections small enough to share a chunk share the heading of their common ancestor.
    expect(chunkWith(chunks, "brew install ballast").heading).toBe("Ballast");
    // With less room each section is a chunk of its own, headed by its full path.
    const small = checkInvariants("docs/guide.md", MARKDOWN_GUIDE, { size: 160, overlap: 20 });
    expect(chunkWith(small, "brew install ballast").heading).toBe("Ballast > Install > macOS");
    expect(chunkWith(small, "curl -fsSL").heading).toBe("Ballast > Install > Linux");
    expect(chunkWith(small, "Every setting is an environment variable").heading).toMatch(
      /^Ballast( > Configuration)?$/,
    );
    expect(chunkWith(small, "Postgres with pgvector").heading).toBe(
      "Ballast > FAQ > Why not a vector database?",
    );
  });

  it("ignores headings inside fenced code and front matter, and never splits a fence that fits", () => {
    const linux = chunkWith(chunks, "curl -fsSL");
    expect(linux.content).toContain("# this is a shell comment, not a heading");
    expect(linux.content).toContain("ballast --version\n```");
    expect(headings(chunks).some((h) => h?.includes("shell comment"))).toBe(false);
    expect(headings(chunks).some((h) => h?.includes("title:"))).toBe(false);
    expect(chunks[0]?.content.startsWith("---\ntitle: Ballast guide")).toBe(true);
  });

  it("splits a fence larger than the size by lines, within the size", () => {
    const pieces = chunks.filter((c) => c.content.includes("sudo apt-get install"));
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces.every((c) => c.heading === "Ballast > Usage")).toBe(true);
    // The heading line stays with the block after it.
    expect(chunkWith(chunks, "## Usage").content).toContain("Run a sync by hand:");
  });

  it("recognises setext headings, but not a rule under a list or a table", () => {
    const text = [
      "Title",
      "=====",
      "",
      "Intro paragraph.",
      "",
      "Section two",
      "-----------",
      "",
      `${"Body of section two. ".repeat(8)}`,
      "",
      "- a list item",
      "---",
      "",
      `${"More words after the rule. ".repeat(8)}`,
    ].join("\n");
    const chunks = checkInvariants("setext.md", text, { size: 200, overlap: 20 });
    expect(chunkWith(chunks, "Intro paragraph").heading).toBe("Title");
    expect(chunkWith(chunks, "Body of section two").heading).toBe("Title > Section two");
    expect(chunkWith(chunks, "More words after the rule").heading).toBe("Title > Section two");
  });

  it("merges small sections", () => {
    const merged = checkInvariants(
      "docs/guide.md",
      "# A\n\none\n\n## B\n\ntwo\n\n## C\n\nthree\n",
      OPTIONS,
    );
    expect(merged).toHaveLength(1);
    expect(merged[0]?.heading).toBe("A");
  });
});

describe("chunkDocument: plain text", () => {
  it("packs paragraphs with overlap between consecutive chunks", () => {
    const chunks = checkInvariants("notes.txt", PLAIN_TEXT, { size: 600, overlap: 120 });
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.every((c) => c.kind === "text" && c.heading === undefined)).toBe(true);
    let overlapping = 0;
    for (let i = 1; i < chunks.length; i++) {
      const previous = chunks[i - 1] as Chunk;
      const chunk = chunks[i] as Chunk;
      if (chunk.startLine <= previous.endLine) {
        overlapping++;
        const shared = previous.endLine - chunk.startLine + 1;
        const sharedText = chunk.content.split("\n").slice(0, shared).join("\n");
        expect(sharedText.length).toBeLessThanOrEqual(120);
        expect(previous.content.endsWith(sharedText)).toBe(true);
      }
    }
    expect(overlapping).toBeGreaterThan(0);
  });

  it("falls back to plain text for unknown file types", () => {
    const chunks = checkInvariants("data.unknown", PLAIN_TEXT, OPTIONS);
    expect(chunks.every((c) => c.kind === "text")).toBe(true);
  });
});

describe("chunkDocument: CRLF", () => {
  it.each([
    ["src/accounts.ts", TS_SERVICE],
    ["inventory.py", PYTHON_MODULE],
    ["docs/guide.md", MARKDOWN_GUIDE],
    ["notes.txt", PLAIN_TEXT],
  ])("%s gives the same chunks with CRLF line endings and a BOM", (path, text) => {
    const crlf = `\uFEFF${text.replace(/\n/g, "\r\n")}`;
    const chunks = checkInvariants(path, crlf, { size: 500, overlap: 50 });
    expect(chunks).toEqual(chunkDocument(path, text, { size: 500, overlap: 50 }));
    // Line numbers hold in the original CRLF text too.
    const original = crlf.slice(1).split("\n");
    for (const chunk of chunks) {
      const range = original
        .slice(chunk.startLine - 1, chunk.endLine)
        .map((l) => l.replace(/\r$/, ""))
        .join("\n");
      expect(range).toContain(chunk.content);
    }
  });
});

describe("chunkDocument: size limit", () => {
  function randomDocument(seed: number, lines: number): string {
    let x = seed;
    const next = () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x / 4294967296;
    };
    const words = [
      "fn",
      "class",
      "#",
      "##",
      "```",
      "{",
      "}",
      "  ",
      "\t",
      "😀",
      "é",
      "def",
      "a",
      "-",
      "=",
      "//",
      "x()",
    ];
    const out: string[] = [];
    for (let i = 0; i < lines; i++) {
      const length = Math.floor(next() ** 3 * 120);
      let line = "";
      for (let w = 0; w < length; w++) line += `${words[Math.floor(next() * words.length)]} `;
      out.push(next() < 0.1 ? "" : line);
    }
    return out.join(next() < 0.5 ? "\n" : "\r\n");
  }

  it("holds for every kind, tiny sizes and awkward text (surrogate pairs, long lines)", () => {
    for (let seed = 1; seed <= 12; seed++) {
      const text = randomDocument(seed, 200);
      for (const path of ["a.ts", "a.py", "a.md", "a.txt", "a.json"]) {
        for (const options of [
          { size: MIN_CHUNK_SIZE, overlap: 7 },
          { size: 64, overlap: 0 },
          { size: 300, overlap: 149 },
        ]) {
          checkInvariants(path, text, options);
        }
      }
    }
  });
});

describe("chunkDocument: locality", () => {
  function hashes(chunks: Chunk[]): Set<string> {
    return new Set(chunks.map((c) => c.contentHash));
  }

  it("an edit in the middle of a 40-function file changes only the chunks around it", () => {
    const options = { size: 800, overlap: 80 };
    const before = checkInvariants("steps.ts", fortyFunctions(), options);
    const after = checkInvariants(
      "steps.ts",
      fortyFunctions({ index: 20, line: "  const extra = input.values.length * 2;" }),
      options,
    );
    expect(before.length).toBeGreaterThan(15);
    const kept = hashes(after);
    const survived = before.filter((c) => kept.has(c.contentHash)).length;
    // At most the edited function's chunk and its neighbours change.
    expect(before.length - survived).toBeLessThanOrEqual(3);
    expect(survived / before.length).toBeGreaterThan(0.85);
    const changed = after.filter((c) => !hashes(before).has(c.contentHash));
    expect(changed.length).toBeGreaterThanOrEqual(1);
    expect(changed.some((c) => c.content.includes("const extra"))).toBe(true);
    // The chunks that changed are next to the edit.
    const edited = chunkWith(after, "const extra");
    for (const chunk of changed)
      expect(Math.abs(chunk.ordinal - edited.ordinal)).toBeLessThanOrEqual(2);
  });

  it("growing one function a lot does not shift the boundaries of the rest of the file", () => {
    const options = { size: 800, overlap: 80 };
    const before = chunkDocument("steps.ts", fortyFunctions(), options);
    const bigEdit = Array.from(
      { length: 8 },
      (_, i) => `  const grown${i} = input.values[${i}] ** 2;`,
    ).join("\n");
    const after = chunkDocument("steps.ts", fortyFunctions({ index: 12, line: bigEdit }), options);
    const kept = hashes(after);
    const lost = before.filter((c) => !kept.has(c.contentHash));
    expect(lost.length).toBeLessThanOrEqual(4);
    // Everything after function 16 is untouched.
    const tail = before.filter((c) => /step(1[7-9]|[23]\d)\(/.test(c.content));
    expect(tail.length).toBeGreaterThan(5);
    for (const chunk of tail) expect(kept.has(chunk.contentHash)).toBe(true);
  });

  it("resynchronises after an edit even where greedy packing never would (same-sized units)", () => {
    // Forty functions of exactly the same length, three to a chunk. Growing the first one moves
    // every later greedy boundary by one function, for ever; anchors bound how far it reaches.
    const file = (grown: boolean) =>
      Array.from({ length: 40 }, (_, i) => {
        const name = `handler${String(i).padStart(2, "0")}`;
        const extra = grown && i === 1 ? "\n  audit(event, 'received', Date.now());".repeat(5) : "";
        return `export function ${name}(event: Event): Result {\n  const parsed = parse(event.body);${extra}\n  return respond(parsed, ${String(i).padStart(2, "0")});\n}`;
      }).join("\n\n");
    const options = { size: 400, overlap: 40 };
    const before = checkInvariants("handlers.ts", file(false), options);
    const after = checkInvariants("handlers.ts", file(true), options);
    const kept = hashes(after);
    const lost = before.filter((c) => !kept.has(c.contentHash));
    expect(before.length).toBeGreaterThan(12);
    expect(lost.length).toBeLessThanOrEqual(before.length / 3);
  });

  it("an edit in one markdown section leaves the other sections' chunks alone", () => {
    const sections = Array.from(
      { length: 30 },
      (_, i) =>
        `## Topic ${i}\n\n${`Topic ${i} explains part ${i} of the system in a few sentences. `.repeat(2 + (i % 5))}`,
    );
    const before = chunkDocument("topics.md", `# Manual\n\n${sections.join("\n\n")}`, OPTIONS);
    sections[15] = `${sections[15]}\n\nAn added paragraph about topic fifteen.`;
    const after = chunkDocument("topics.md", `# Manual\n\n${sections.join("\n\n")}`, OPTIONS);
    const kept = hashes(after);
    const lost = before.filter((c) => !kept.has(c.contentHash));
    expect(lost.length).toBeLessThanOrEqual(2);
    expect(lost.every((c) => /Topic 1[3-7]/.test(c.content))).toBe(true);
  });

  it("an edit inside a minified line moves only the cuts near it", () => {
    const options = { size: 1000, overlap: 0 };
    const text = minified();
    const before = chunkDocument("app.js", text, options);
    const middle = Math.floor(text.length / 2);
    const after = chunkDocument(
      "app.js",
      `${text.slice(0, middle)}/*x*/${text.slice(middle)}`,
      options,
    );
    const kept = hashes(after);
    const lost = before.filter((c) => !kept.has(c.contentHash));
    expect(before.length).toBeGreaterThan(20);
    expect(lost.length).toBeLessThanOrEqual(3);
  });
});
