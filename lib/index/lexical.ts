import { stemmer } from "stemmer";

/**
 * The lexical side of search: code-aware terms for every chunk, stored as a Postgres
 * `tsvector` (core Postgres, a GIN index; no extension), scored BM25-style at query time.
 *
 * Terms of a chunk, each a lexeme of its tsvector:
 * - body: every word of the content split into identifier parts (`parseJsonConfig`,
 *   `parse_json_config` → parse, json, config), lower-cased and stemmed (Porter: `retries` and
 *   `retry` → `retri`), plus a word of several parts kept whole (`parsejsonconfig`, not stemmed);
 * - `p:` path terms: the parts of every path segment, and the file name without extension whole
 *   (`lib/websocket-server.js` → p:lib, p:websocket, p:server, p:websocketserver);
 * - `h:` symbol terms: the parts of the chunk's heading (Markdown heading path, or the code
 *   symbol the chunk defines: `class Sender > method frame`), so a chunk that defines a name
 *   ranks above one that only mentions it.
 *
 * Term frequency and length normalisation are folded in at index time: a body lexeme carries
 * one position whose weight label (D < C < B < A) is the BM25 saturation
 * `tf'(k1 + 1) / (tf' + k1)` of its length-normalised frequency
 * `tf' = tf / (1 - b + b · length / REFERENCE_LENGTH)`, in four steps. At query time
 * `ts_rank(LABEL_WEIGHTS, lexemes, term)` reads that value back, and IDF comes from
 * per-source document frequencies kept in `lexical_terms` (see lexical-search.ts).
 */

export const LEXICAL_VERSION = "1";

/** BM25 parameters (the usual defaults). */
export const BM25_K1 = 1.2;
export const BM25_B = 0.75;
/** Length (in terms) a chunk is normalised against: about a 1,600-character chunk of code. */
export const REFERENCE_LENGTH = 160;

/**
 * ts_rank weights for labels D, C, B, A. ts_rank of a one-term query on a lexeme with one
 * position is `weight / 1.64493…` (π²/6, its normaliser); the weights are the representative
 * BM25 saturation of each step, halved to fit ts_rank's 0..1 range.
 */
const SATURATION_STEPS = [0.7, 1.1, 1.5, 1.9] as const;
export const LABEL_WEIGHTS = SATURATION_STEPS.map((s) => s / 2);
/** Multiply a ts_rank value by this to get the saturation back. */
export const RANK_TO_SATURATION = 2 * (Math.PI ** 2 / 6);
/**
 * ts_rank of a path or symbol lexeme (one position, label D) as Postgres computes it (in
 * float4): the same for every chunk holding it, so a lookup of such a lexeme needs no ts_rank
 * and reads no tsvector.
 */
export const PRESENCE_RANK = Math.fround((LABEL_WEIGHTS[0] ?? 0) / 1.64493406685);

export const PATH_PREFIX = "p:";
export const HEADING_PREFIX = "h:";

/** Where a chunk holds a term: its content, its path (`p:`), its symbol or heading (`h:`). */
export type TermField = "body" | "path" | "symbol";

/** The lexemes a query term is looked up as, one per field. */
export function termForms(term: string): { lexeme: string; term: string; field: TermField }[] {
  return [
    { lexeme: term, term, field: "body" },
    { lexeme: PATH_PREFIX + term, term, field: "path" },
    { lexeme: HEADING_PREFIX + term, term, field: "symbol" },
  ];
}

const STOP_WORDS = new Set(
  [
    // English function words
    "a an and are as at be but by can do does for from has have how i if in into is it its",
    "me my of on or our so than that the their them then there these they this to was we",
    "were what when where which who why will with you your should would could",
    // keywords in nearly every source file, and heading kinds
    "const let var function return import export default def self public private static void",
    "null nil none true false undefined new else elif end fn pub mut class method interface",
    "type async await",
  ].flatMap((line) => line.split(" ")),
);

const stems = new Map<string, string>();
function stem(word: string): string {
  let out = stems.get(word);
  if (out === undefined) {
    out = stemmer(word);
    if (stems.size > 200_000) stems.clear();
    stems.set(word, out);
  }
  return out;
}

const WORD = /[\p{L}\p{N}_]+/gu;
const WORD_CHAR = /[\p{L}\p{N}_]/u;
const PART = /[\p{Lu}]?[\p{Ll}\p{Lo}\p{M}]+|[\p{Lu}]+(?![\p{Ll}])|\p{N}+/gu;

export interface Term {
  /** The lexeme: a stemmed part, or a whole multi-part identifier. */
  term: string;
  /** A whole identifier (`parsejsonconfig`), as opposed to one of its parts. */
  whole: boolean;
}

// ASCII character classes for the fast path (code is nearly all ASCII).
const OTHER = 0;
const LOWER = 1;
const UPPER = 2;
const DIGIT = 3;
const UNDERSCORE = 4;
const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if (c >= 97 && c <= 122) ASCII_CLASS[c] = LOWER;
  else if (c >= 65 && c <= 90) ASCII_CLASS[c] = UPPER;
  else if (c >= 48 && c <= 57) ASCII_CLASS[c] = DIGIT;
  else if (c === 95) ASCII_CLASS[c] = UNDERSCORE;
}

/** Receives each term of a text: a stemmed part, or a whole multi-part word. */
type TermSink = (term: string, whole: boolean) => void;

function emitParts(sink: TermSink, parts: string[]): void {
  for (const part of parts) if (part.length > 1 && !STOP_WORDS.has(part)) sink(stem(part), false);
  if (parts.length > 1) {
    const whole = parts.join("");
    if (whole.length > 2 && whole.length <= 60) sink(whole, true);
  }
}

/** Identifier parts of an ASCII word text[start, end): `[A-Z]?[a-z]+ | [A-Z]+(?![a-z]) | [0-9]+`. */
function asciiParts(text: string, start: number, end: number, parts: string[]): void {
  let k = start;
  while (k < end) {
    const cls = ASCII_CLASS[text.charCodeAt(k)] ?? OTHER;
    let m = k + 1;
    if (cls === DIGIT || cls === LOWER) {
      while (m < end && ASCII_CLASS[text.charCodeAt(m)] === cls) m++;
    } else if (cls === UPPER) {
      while (m < end && ASCII_CLASS[text.charCodeAt(m)] === UPPER) m++;
      const nextLower = m < end && ASCII_CLASS[text.charCodeAt(m)] === LOWER;
      if (nextLower && m - k === 1) {
        // `Server`: one capital and its lower-case run
        while (m < end && ASCII_CLASS[text.charCodeAt(m)] === LOWER) m++;
      } else if (nextLower) {
        m--; // `HTTPServer`: the last capital starts the next part
      }
    } else {
      k++; // underscore: a separator
      continue;
    }
    parts.push(text.slice(k, m).toLowerCase());
    k = m;
  }
}

/**
 * The terms of a text, in order, with repeats: identifier parts (stemmed) and multi-part
 * words whole. Parts of one character and stop words are dropped. One pass over the
 * characters for ASCII words; a word with other letters goes through Unicode regexes.
 */
export function terms(text: string): Term[] {
  const out: Term[] = [];
  scanTerms(text, (term, whole) => out.push({ term, whole }));
  return out;
}

function scanTerms(text: string, sink: TermSink): void {
  const n = text.length;
  const parts: string[] = [];
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c < 128 ? ASCII_CLASS[c] === OTHER : !WORD_CHAR.test(text[i] ?? "")) {
      i++;
      continue;
    }
    let j = i;
    let ascii = true;
    while (j < n) {
      const d = text.charCodeAt(j);
      if (d < 128) {
        if (ASCII_CLASS[d] === OTHER) break;
      } else {
        const ch = String.fromCodePoint(text.codePointAt(j) ?? d);
        if (!WORD_CHAR.test(ch)) break;
        ascii = false;
        j += ch.length;
        continue;
      }
      j++;
    }
    parts.length = 0;
    if (ascii) asciiParts(text, i, j, parts);
    else
      for (const piece of text.slice(i, j).split("_"))
        for (const part of piece.matchAll(PART)) parts.push(part[0].toLowerCase());
    emitParts(sink, parts);
    i = j;
  }
}

/** The reference tokeniser (Unicode regexes throughout), kept for tests of the fast path. */
export function termsReference(text: string): Term[] {
  const out: Term[] = [];
  for (const match of text.matchAll(WORD)) {
    const parts: string[] = [];
    for (const piece of match[0].split("_"))
      for (const part of piece.matchAll(PART)) parts.push(part[0].toLowerCase());
    emitParts((term, whole) => out.push({ term, whole }), parts);
  }
  return out;
}

/** Path terms: parts of every segment, and the file name (without extension) whole. */
export function pathTerms(path: string): string[] {
  const segments = path.split("/");
  const file = segments.pop() ?? "";
  const dot = file.lastIndexOf(".");
  const base = dot > 0 ? file.slice(0, dot) : file;
  const out = new Set<string>();
  for (const segment of [...segments, base]) for (const t of terms(segment)) out.add(t.term);
  const whole = base.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "");
  if (whole.length > 1 && !STOP_WORDS.has(whole)) out.add(whole);
  return [...out];
}

/** Symbol / heading terms. */
export function headingTerms(heading: string | null | undefined): string[] {
  if (!heading) return [];
  return [...new Set(terms(heading).map((t) => t.term))];
}

function quote(lexeme: string): string {
  if (lexeme.indexOf("'") < 0 && lexeme.indexOf("\\") < 0) return `'${lexeme}'`;
  return `'${lexeme.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/** The label of a body lexeme: its BM25 saturation in four steps. */
export function saturationLabel(tf: number, length: number): "A" | "B" | "C" | "D" {
  const norm = 1 - BM25_B + (BM25_B * Math.max(1, length)) / REFERENCE_LENGTH;
  const tfNorm = tf / norm;
  const s = (tfNorm * (BM25_K1 + 1)) / (tfNorm + BM25_K1);
  return s >= 1.7 ? "A" : s >= 1.3 ? "B" : s >= 0.9 ? "C" : "D";
}

export interface ChunkLexemes {
  /** tsvector literal. */
  tsvector: string;
  /** Distinct lexemes (for document frequencies). */
  lexemes: string[];
  /** The weight label of each lexeme, in the order of `lexemes` (A B C D; D for path and heading terms). */
  weights: string;
  /** Body terms counted (BM25's document length). */
  length: number;
}

/** The tsvector of a chunk from its content, path and heading. */
export function chunkLexemes(
  content: string,
  path: string,
  heading: string | null | undefined,
): ChunkLexemes {
  const counts = new Map<string, number>();
  let length = 0;
  scanTerms(content, (term) => {
    counts.set(term, (counts.get(term) ?? 0) + 1);
    length++;
  });
  const entries: string[] = [];
  const lexemes: string[] = [];
  let weights = "";
  for (const [term, tf] of counts) {
    const label = saturationLabel(tf, length);
    entries.push(`${quote(term)}:1${label}`);
    lexemes.push(term);
    weights += label;
  }
  for (const term of cachedPathTerms(path)) {
    entries.push(`${quote(PATH_PREFIX + term)}:1`);
    lexemes.push(PATH_PREFIX + term);
    weights += "D";
  }
  for (const term of headingTerms(heading)) {
    entries.push(`${quote(HEADING_PREFIX + term)}:1`);
    lexemes.push(HEADING_PREFIX + term);
    weights += "D";
  }
  return { tsvector: entries.join(" "), lexemes, weights, length };
}

// The chunks of one file arrive together: their path's terms are computed once.
let lastPath: string | undefined;
let lastPathTerms: string[] = [];
function cachedPathTerms(path: string): string[] {
  if (path !== lastPath) {
    lastPathTerms = pathTerms(path);
    lastPath = path;
  }
  return lastPathTerms;
}

/** The terms a query looks for: distinct body terms (parts and wholes), in query order. */
export function queryTerms(query: string): string[] {
  return [...new Set(terms(query).map((t) => t.term))];
}

/** A tsquery literal matching any of the lexemes. */
export function anyOf(lexemes: string[]): string {
  return lexemes.map(quote).join(" | ");
}

export function lexemeQuery(lexeme: string): string {
  return quote(lexeme);
}
