import type { EmbedCallOptions, EmbeddingBatchResult, EmbeddingProvider } from "./types";

export const LOCAL_MODEL = "ballast-hash-v1";

/**
 * `ballast-hash-v1`: Ballast's local embedder. A feature-hashing bag-of-words model with no
 * learned weights, no network and no state: it is not a semantic model.
 *
 * What it does, for each text:
 * 1. Tokenises it into words (runs of ASCII letters, digits and `_`, plus any character above
 *    U+007F except punctuation, symbol and space blocks). Each word is split into parts at `_`,
 *    at lower→Upper and digit→Upper changes, and before the last capital of an acronym
 *    (`HTTPServer` → `http` `server`); parts are lower-cased (ASCII letters only). Each part is
 *    a token; a word of several parts is also kept whole, without its underscores
 *    (`parseJsonConfig` and `parse_json_config` both give `parse` `json` `config` and
 *    `parsejsonconfig`).
 * 2. Features are the parts of two or more characters that are not stop words (a short list of
 *    English function words and ubiquitous keywords such as `const`, `return`, `function`),
 *    the whole words, and the bigrams of adjacent such parts (`parse→json`, `json→config`),
 *    bigrams weighted 0.5.
 * 3. Each distinct feature gets the sublinear term frequency `w · (1 + ln tf)` and is added,
 *    with a sign taken from its 32-bit hash, to one of `dimensions` buckets chosen by the same
 *    hash (the "hashing trick"). The vector is L2-normalised.
 *
 * How it ranks: the cosine of two vectors approximates the cosine of their sublinear-TF term
 * vectors, that is a lexical match on shared identifiers, identifier parts and word pairs,
 * with no IDF (every term counts the same however common it is), no stemming and no synonyms.
 * Hash collisions add a little noise that shrinks as `dimensions` grows. A text with no
 * features (empty, whitespace, only stop words or one-letter tokens) gets one fixed unit vector,
 * so every vector is valid and unit-length and such texts match only each other.
 *
 * Same text → bit-identical vector on every run and machine (integer hashing, one fixed order
 * of floating-point operations, fdlibm `Math.log`). Tokens are counted as its own tokens
 * (every part, stop words and single letters included); the cost is 0.
 */
export class LocalHashEmbedder implements EmbeddingProvider {
  readonly provider = "local" as const;
  readonly model: string = LOCAL_MODEL;
  readonly space: string;

  constructor(
    readonly dimensions: number,
    private readonly batchSize = 256,
  ) {
    if (!Number.isInteger(dimensions) || dimensions < 1) {
      throw new RangeError(`dimensions must be a positive integer, got ${dimensions}`);
    }
    this.space = `local:${LOCAL_MODEL}:${dimensions}`;
  }

  async embedDocuments(
    texts: string[],
    options: EmbedCallOptions = {},
  ): Promise<EmbeddingBatchResult> {
    const vectors: Float32Array[] = new Array(texts.length);
    let tokens = 0;
    for (let i = 0; i < texts.length; i++) {
      if (i > 0 && i % this.batchSize === 0) await yieldToEventLoop();
      options.signal?.throwIfAborted();
      const out = new Float32Array(this.dimensions);
      tokens += embedInto(texts[i] ?? "", out);
      vectors[i] = out;
    }
    return { vectors, usage: { tokens, costUsd: 0, requests: 0, retries: 0 } };
  }

  async embedQuery(text: string, options: EmbedCallOptions = {}): Promise<Float32Array> {
    options.signal?.throwIfAborted();
    return this.embedSync(text);
  }

  /** Synchronous form, for callers on a hot path that need no promise. */
  embedSync(text: string): Float32Array {
    const out = new Float32Array(this.dimensions);
    embedInto(text, out);
    return out;
  }

  countTokens(text: string): number {
    return analyse(text, false);
  }

  costUsd(_tokens: number): number {
    return 0;
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

// ---------------------------------------------------------------------------------------------
// Tokeniser and feature table. Everything below is hot: one pass over the char codes, integer
// hashing (FNV-1a, then a murmur3 finaliser), an open-addressing table of feature counts reused
// between calls. No regular expressions, no substrings, no per-token allocation.

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

/** Above U+007F: punctuation, symbol and space blocks separate words; the rest are letters. */
function classifyHigh(c: number): number {
  if (c <= 0xbf) return c === 0xaa || c === 0xb5 || c === 0xba ? LOWER : OTHER; // Latin-1 symbols
  if (c === 0xd7 || c === 0xf7) return OTHER; // × ÷
  if (c >= 0x2000 && c <= 0x2bff) return OTHER; // general punctuation … misc symbols and arrows
  if (c >= 0x3000 && c <= 0x303f) return OTHER; // CJK symbols and punctuation
  if (c >= 0xfe00 && c <= 0xfe0f) return OTHER; // variation selectors
  if (c === 0xfeff || c === 0xfffd) return OTHER; // BOM, replacement character
  return LOWER;
}

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
const SEED_UNIGRAM = 0x2545f491;
const SEED_BIGRAM = 0x6a09e667;
const BIGRAM_WEIGHT = 0.5;

function fmix(input: number): number {
  let h = input;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h === 0 ? 1 : h; // 0 marks an empty slot
}

function fnv(text: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h;
}

const STOP_WORDS = [
  // English function words
  "an and are as at be but by do does for from has have he her his how in into is it its of",
  "on or our she so than that the their them then there these they this to was we were what",
  "when which who will with you your",
  // keywords present in nearly every source file
  "const let var function return import export default def self public private static void",
  "null nil none true false undefined new else elif end fn pub mut",
].flatMap((line) => line.split(" "));
const STOP_MAX_LENGTH = Math.max(...STOP_WORDS.map((word) => word.length));
const STOP_TABLE = new Int32Array(512);
for (const word of STOP_WORDS) {
  let slot = fnv(word) & 511;
  while (STOP_TABLE[slot] !== 0) slot = (slot + 1) & 511;
  STOP_TABLE[slot] = fnv(word);
}

function isStopWord(hash: number): boolean {
  let slot = hash & 511;
  for (;;) {
    const value = STOP_TABLE[slot];
    if (value === 0) return false;
    if (value === hash) return true;
    slot = (slot + 1) & 511;
  }
}

/** 1 + ln(tf) for small tf, computed once. */
const SUBLINEAR = new Float64Array(64);
for (let tf = 1; tf < 64; tf++) SUBLINEAR[tf] = 1 + Math.log(tf);

/** The unit vector of a text without features. */
const EMPTY_FEATURE = fmix(fnv("\u0000ballast-hash-v1:empty"));

// Feature table: keys (mixed hashes, 0 = empty), counts, weights, and the slots in first-use order.
let capacity = 4096;
let keys = new Int32Array(capacity);
let counts = new Int32Array(capacity);
let weights = new Float32Array(capacity);
let used = new Int32Array(capacity >> 1);
let usedCount = 0;
let accumulator = new Float64Array(256);

function addFeature(key: number, weight: number): void {
  const mask = capacity - 1;
  let slot = key & mask;
  for (;;) {
    const existing = keys[slot];
    if (existing === key) {
      counts[slot] = (counts[slot] ?? 0) + 1;
      return;
    }
    if (existing === 0) break;
    slot = (slot + 1) & mask;
  }
  keys[slot] = key;
  counts[slot] = 1;
  weights[slot] = weight;
  used[usedCount++] = slot;
  if (usedCount >= capacity >> 1) grow();
}

function grow(): void {
  const oldKeys = keys;
  const oldCounts = counts;
  const oldWeights = weights;
  const oldUsed = used;
  const n = usedCount;
  capacity *= 2;
  keys = new Int32Array(capacity);
  counts = new Int32Array(capacity);
  weights = new Float32Array(capacity);
  used = new Int32Array(capacity >> 1);
  const mask = capacity - 1;
  for (let i = 0; i < n; i++) {
    const from = oldUsed[i] ?? 0;
    const key = oldKeys[from] ?? 0;
    let slot = key & mask;
    while (keys[slot] !== 0) slot = (slot + 1) & mask;
    keys[slot] = key;
    counts[slot] = oldCounts[from] ?? 0;
    weights[slot] = oldWeights[from] ?? 0;
    used[i] = slot;
  }
}

function clearTable(): void {
  for (let i = 0; i < usedCount; i++) keys[used[i] ?? 0] = 0;
  usedCount = 0;
}

/**
 * One pass over `text`: counts its tokens and, when `collect` is set, fills the feature table.
 * Returns the token count.
 */
function analyse(text: string, collect: boolean): number {
  const n = text.length;
  let tokens = 0;
  let inWord = false;
  let prevClass = OTHER;
  let partHash = FNV_OFFSET;
  let partLength = 0;
  let wholeHash = FNV_OFFSET;
  let partsInWord = 0;
  let previousPart = 0; // hash of the previous feature part, 0 = none

  // i === n acts as a final separator.
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 32;
    const cls = c < 128 ? (ASCII_CLASS[c] ?? OTHER) : classifyHigh(c);

    let boundary = false;
    if (cls === OTHER || cls === UNDERSCORE) boundary = true;
    else if (cls === UPPER && inWord) {
      if (prevClass === LOWER || prevClass === DIGIT) boundary = true;
      else if (prevClass === UPPER && i + 1 < n) {
        const next = text.charCodeAt(i + 1);
        boundary = next >= 97 && next <= 122;
      }
    }

    if (boundary && partLength > 0) {
      // end of a part
      tokens++;
      partsInWord++;
      if (collect && partLength >= 2 && !(partLength <= STOP_MAX_LENGTH && isStopWord(partHash))) {
        addFeature(fmix(partHash ^ SEED_UNIGRAM), 1);
        if (previousPart !== 0) {
          addFeature(
            fmix(Math.imul(previousPart, 0x9e3779b1) ^ partHash ^ SEED_BIGRAM),
            BIGRAM_WEIGHT,
          );
        }
        previousPart = partHash === 0 ? 1 : partHash;
      }
      partHash = FNV_OFFSET;
      partLength = 0;
    }

    if (cls === OTHER) {
      if (inWord) {
        // end of a word: keep a multi-part word whole as well
        if (collect && partsInWord >= 2) addFeature(fmix(wholeHash ^ SEED_UNIGRAM), 1);
        inWord = false;
      }
      prevClass = OTHER;
      continue;
    }
    if (!inWord) {
      inWord = true;
      wholeHash = FNV_OFFSET;
      partsInWord = 0;
    }
    prevClass = cls;
    if (cls === UNDERSCORE) continue;
    const lower = cls === UPPER ? c + 32 : c;
    partHash = Math.imul(partHash ^ lower, FNV_PRIME);
    wholeHash = Math.imul(wholeHash ^ lower, FNV_PRIME);
    partLength++;
  }
  return tokens;
}

/** Embeds `text` into `out` (zeroed, length = dimensions); returns the token count. */
function embedInto(text: string, out: Float32Array): number {
  const dimensions = out.length;
  const tokens = analyse(text, true);
  if (accumulator.length < dimensions) accumulator = new Float64Array(dimensions);
  const acc = accumulator;
  acc.fill(0, 0, dimensions);

  for (let i = 0; i < usedCount; i++) {
    const slot = used[i] ?? 0;
    const key = keys[slot] ?? 0;
    const tf = counts[slot] ?? 1;
    const value = (weights[slot] ?? 0) * (tf < 64 ? (SUBLINEAR[tf] ?? 1) : 1 + Math.log(tf));
    const bucket = (key >>> 1) % dimensions;
    acc[bucket] = (acc[bucket] ?? 0) + (key & 1 ? value : -value);
  }
  clearTable();

  let sumSquares = 0;
  for (let d = 0; d < dimensions; d++) {
    const v = acc[d] ?? 0;
    sumSquares += v * v;
  }
  if (sumSquares === 0) {
    // No features, or (rarely) every bucket cancelled out: the fixed "empty" direction.
    out[(EMPTY_FEATURE >>> 1) % dimensions] = EMPTY_FEATURE & 1 ? 1 : -1;
    return tokens;
  }
  const scale = 1 / Math.sqrt(sumSquares);
  for (let d = 0; d < dimensions; d++) out[d] = (acc[d] ?? 0) * scale;
  return tokens;
}
