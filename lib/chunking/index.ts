import { hash } from "node:crypto";
import { type ErrorIssue, ValidationError } from "../errors";
import { chunkCode } from "./code";
import { codeProfile, detectLanguage, kindOf } from "./language";
import { buildLineTable, lineAt, normaliseText } from "./lines";
import { chunkMarkdown } from "./markdown";
import { applyOverlap, type Ctx } from "./pack";
import { chunkText } from "./text";

export { detectLanguage } from "./language";

/**
 * Chunking: documents into chunks for embedding, structure-aware and local.
 *
 * - Markdown splits at headings (chunks carry the heading path), code at declarations (chunks
 *   carry the symbol), anything else at paragraphs. Small neighbouring sections are merged up to
 *   `size`; a larger one is split further (blocks, members, lines; a single huge line by
 *   characters).
 * - Size rule: every chunk is at most `size` characters (UTF-16 code units, as String#length
 *   counts), always. Nothing is exempt: a fenced block or a function larger than `size` is split
 *   by lines, and a line larger than a chunk is cut through (never inside a surrogate pair),
 *   which is why `size` has a floor of MIN_CHUNK_SIZE.
 * - Local: boundaries depend only on the text around them (see pack.ts), so editing one function
 *   or section changes only the chunks around it; the others keep identical content and hash.
 * - Exact: CRLF is normalised to LF (and a leading BOM dropped) before anything else; line
 *   numbers are the same either way. For every chunk, the lines startLine..endLine of the
 *   normalised text, joined with "\n", contain its content (they equal it, except for a cut
 *   through a line longer than a chunk).
 * - Overlap: consecutive plain-text chunks, and consecutive pieces of one section split by lines
 *   or characters, share up to `overlap` characters (whole lines where possible). Chunks split
 *   at structure (headings, declarations) do not overlap.
 */
export const CHUNKER_VERSION = "1";

const NON_WHITESPACE = /\S/;

export const MIN_CHUNK_SIZE = 16;
export const MAX_CHUNK_SIZE = 1_000_000;

export interface ChunkOptions {
  /** Largest chunk, in characters. */
  size: number;
  /** Characters shared by consecutive plain-text chunks; less than size / 2. */
  overlap: number;
}

export type ChunkKind = "markdown" | "code" | "text";

export interface Chunk {
  /** 0.. in document order. */
  ordinal: number;
  content: string;
  /** 1-based, inclusive. */
  startLine: number;
  /** 1-based, inclusive. */
  endLine: number;
  kind: ChunkKind;
  /** Markdown heading path ("Install > Linux") or code symbol ("class Foo > method bar"). */
  heading?: string;
  /** Hex SHA-256 of content. */
  contentHash: string;
}

/** Throws ValidationError naming each problem with the options. */
export function validateChunkOptions(options: ChunkOptions): void {
  const issues: ErrorIssue[] = [];
  const { size, overlap } = options ?? ({} as ChunkOptions);
  if (!Number.isInteger(size) || size < MIN_CHUNK_SIZE || size > MAX_CHUNK_SIZE) {
    issues.push({
      path: "size",
      message: `must be a whole number from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}`,
    });
  }
  if (!Number.isInteger(overlap) || overlap < 0) {
    issues.push({ path: "overlap", message: "must be a whole number, 0 or more" });
  } else if (Number.isInteger(size) && overlap >= size / 2) {
    issues.push({ path: "overlap", message: `must be less than half of size (${size})` });
  }
  if (issues.length > 0) {
    throw new ValidationError(
      `invalid chunk options: ${issues.map((i) => `${i.path} ${i.message}`).join("; ")}`,
      issues,
    );
  }
}

export function chunkDocument(path: string, text: string, options: ChunkOptions): Chunk[] {
  validateChunkOptions(options);
  if (typeof text !== "string")
    throw new ValidationError("document text must be a string", [
      { path: "text", message: "not a string" },
    ]);
  const language = detectLanguage(path);
  const kind = kindOf(language);
  const lines = buildLineTable(normaliseText(text));
  const ctx: Ctx = { lines, size: options.size, overlap: options.overlap, out: [], nextRun: 2 };
  if (kind === "markdown") chunkMarkdown(ctx);
  else if (kind === "code") chunkCode(ctx, codeProfile(language));
  else chunkText(ctx);
  applyOverlap(ctx);

  const chunks: Chunk[] = [];
  for (const piece of ctx.out) {
    if (piece.to <= piece.from) continue;
    const content = lines.text.slice(piece.from, piece.to);
    // A cut through a long line can fall in a run of spaces: nothing to index there.
    if (!NON_WHITESPACE.test(content)) continue;
    const chunk: Chunk = {
      ordinal: chunks.length,
      content,
      startLine: lineAt(lines, piece.from) + 1,
      endLine: lineAt(lines, piece.to - 1) + 1,
      kind,
      contentHash: hash("sha256", content, "hex"),
    };
    if (piece.heading !== undefined) chunk.heading = piece.heading;
    chunks.push(chunk);
  }
  return chunks;
}
