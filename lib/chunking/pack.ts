import { type LineTable, lineKey } from "./lines";

/**
 * Packing: turning a sequence of structural units (sections, blocks, paragraphs, lines) into
 * pieces of at most a given capacity, so that an edit stays local.
 *
 * Plain greedy packing ("add the next unit while it fits") is not local: one function that
 * grows by a line can push every later boundary along, and every later chunk changes. So the
 * units are first cut into groups at content-defined anchors, and packed greedily only inside
 * a group. Whether a unit starts a group depends only on the unit itself (a hash of its first
 * line, weighed by its length), never on its position, so an edit can change the chunks of its
 * own group (and, if it moves an anchor, the neighbouring one) and nothing else. Anchors are
 * drawn so that a group spans about GROUP_SPAN capacities of text on average, which keeps the
 * chunks reasonably full while bounding how far an edit reaches.
 */
const GROUP_SPAN = 3;
/**
 * An anchor is ignored while the chunk being filled is under this fraction of the capacity, so
 * an anchor right after a cut does not leave a sliver. This makes a cut depend a little on where
 * the chunk started, but two versions of a text agree again at the next anchor both honour.
 */
const MIN_FILL = 0.25;

export interface Piece {
  /** Offsets into the normalised text: content is `text.slice(from, to)`. */
  from: number;
  to: number;
  heading: string | undefined;
  /** Pieces with the same non-zero run are consecutive cuts through one text and overlap. */
  run: number;
}

export interface Unit {
  /** First and last non-blank line (0-based, inclusive). */
  first: number;
  last: number;
  /** Anchor key: a hash of the unit's defining line (declaration, heading, first line). */
  key: number;
  heading: string | undefined;
}

export interface Ctx {
  readonly lines: LineTable;
  readonly size: number;
  readonly overlap: number;
  readonly out: Piece[];
  nextRun: number;
}

/** A merged chunk's heading: the first one among its units (code: the first symbol). */
export function firstHeading(
  chunk: string | undefined,
  unit: string | undefined,
): string | undefined {
  return chunk ?? unit;
}

function isAnchor(key: number, length: number, span: number): boolean {
  // P(anchor) = length / span, from a uniform 32-bit key.
  return key * span < length * 4294967296;
}

/**
 * Packs units of at most `cap` characters; a unit larger than `cap` is handed to `oversized`,
 * which emits its own pieces (it is never merged with its neighbours).
 */
export function packUnits<U extends Unit>(
  ctx: Ctx,
  units: readonly U[],
  cap: number,
  run: number,
  oversized: (unit: U) => void,
  combine: (
    chunk: string | undefined,
    unit: string | undefined,
  ) => string | undefined = firstHeading,
): void {
  const { start, end } = ctx.lines;
  const span = GROUP_SPAN * cap;
  const minFill = MIN_FILL * cap;
  let from = -1;
  let to = -1;
  let heading: string | undefined;
  const flush = () => {
    if (from >= 0) ctx.out.push({ from, to, heading, run });
    from = -1;
  };
  for (const unit of units) {
    const uFrom = start[unit.first] as number;
    const uTo = end[unit.last] as number;
    if (uTo - uFrom > cap) {
      flush();
      oversized(unit);
      continue;
    }
    if (
      from >= 0 &&
      (uTo - from > cap || (to - from >= minFill && isAnchor(unit.key, uTo - uFrom, span)))
    )
      flush();
    if (from < 0) {
      from = uFrom;
      heading = unit.heading;
    } else {
      heading = combine(heading, unit.heading);
    }
    to = uTo;
  }
  flush();
}

/** The last resort above a hard split: one unit per non-blank line, with overlap between pieces. */
export function splitLines(
  ctx: Ctx,
  first: number,
  last: number,
  heading: string | undefined,
  run?: number,
): void {
  const { indent } = ctx.lines;
  const units: Unit[] = [];
  for (let line = first; line <= last; line++) {
    if ((indent[line] as number) < 0) continue;
    units.push({ first: line, last: line, key: lineKey(ctx.lines, line), heading });
  }
  const cap = ctx.size - ctx.overlap;
  const lineRun = run ?? ctx.nextRun++;
  packUnits(ctx, units, cap, lineRun, (unit) => {
    hardSplit(
      ctx,
      ctx.lines.start[unit.first] as number,
      ctx.lines.end[unit.first] as number,
      heading,
      lineRun,
    );
  });
}

// Gear table for content-defined cuts through a single huge line (deterministic, seeded).
const GEAR = (() => {
  const table = new Int32Array(256);
  let x = 0x9e3779b9;
  for (let i = 0; i < 256; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    table[i] = x;
  }
  return table;
})();

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * Cuts one line that is longer than a piece may be. Cut points are content-defined (a gear
 * rolling hash over the last 32 characters, between cap/2 and cap), so an edit inside a
 * minified file moves only the cuts near it. A cut never separates a surrogate pair.
 */
export function hardSplit(
  ctx: Ctx,
  from: number,
  to: number,
  heading: string | undefined,
  run: number,
): void {
  const text = ctx.lines.text;
  const cap = ctx.size - ctx.overlap;
  const min = Math.max(1, cap >>> 1);
  let bits = 0;
  while (1 << (bits + 1) <= Math.max(1, cap >>> 2)) bits++;
  const mask = (1 << bits) - 1;
  let pos = from;
  while (to - pos > cap) {
    let cut = pos + cap;
    let h = 0;
    for (let i = Math.max(pos, pos + min - 32); i < pos + cap; i++) {
      h = ((h << 1) + (GEAR[text.charCodeAt(i) & 0xff] as number)) | 0;
      if (i + 1 >= pos + min && (h & mask) === 0) {
        cut = i + 1;
        break;
      }
    }
    if (isLowSurrogate(text.charCodeAt(cut)) && cut - 1 > pos) cut--;
    ctx.out.push({ from: pos, to: cut, heading, run });
    pos = cut;
  }
  if (to > pos) ctx.out.push({ from: pos, to, heading, run });
}

/**
 * Overlap: each piece that continues the previous one's run starts up to `overlap` characters
 * earlier, inside the previous piece. Whole lines when a line start is within reach (blank
 * lines skipped), characters when the piece is a cut through one long line. Pieces were packed
 * to `size - overlap`, so the result stays within `size`.
 */
export function applyOverlap(ctx: Ctx): void {
  const { overlap, out, lines } = ctx;
  if (overlap <= 0) return;
  const { text, start, indent, count } = lines;
  for (let k = 1; k < out.length; k++) {
    const piece = out[k] as Piece;
    const prev = out[k - 1] as Piece;
    if (piece.run === 0 || piece.run !== prev.run) continue;
    const floor = Math.max(piece.from - overlap, prev.from + 1);
    if (floor >= piece.from) continue;
    // The first line starting at or after `floor`.
    let lo = 0;
    let hi = count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((start[mid] as number) < floor) lo = mid + 1;
      else hi = mid;
    }
    let line = lo;
    while (line < count && (start[line] as number) < piece.from && (indent[line] as number) < 0)
      line++;
    if (line < count && (start[line] as number) < piece.from) {
      piece.from = start[line] as number;
    } else if (text.charCodeAt(piece.from - 1) !== 10) {
      // A cut through one line: overlap by characters, within that line.
      let from = floor;
      if (isLowSurrogate(text.charCodeAt(from))) from++;
      if (from < piece.from) piece.from = from;
    }
  }
}
