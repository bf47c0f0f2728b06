/**
 * A line table over a normalised text: where each line starts and ends, its indentation and
 * whether it is blank. Built in one pass; everything else in the chunker works on offsets into
 * the text, so a chunk's content is one `text.slice(from, to)`.
 */
export interface LineTable {
  readonly text: string;
  readonly count: number;
  /** Offset of each line's first character. */
  readonly start: Int32Array;
  /** Offset just past each line's last character (the "\n" is not part of the line). */
  readonly end: Int32Array;
  /** Leading whitespace width (a tab counts 4); -1 when the line is blank (whitespace only). */
  readonly indent: Int32Array;
  /** Offset of the first non-whitespace character (equal to `end` for a blank line). */
  readonly body: Int32Array;
}

const TAB_WIDTH = 4;

/**
 * CRLF becomes LF (a lone CR is left alone, as ordinary text) and a leading byte-order mark is
 * dropped. Neither changes line numbers: "\r\n" and "\n" both end exactly one line.
 */
export function normaliseText(text: string): string {
  let out = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (out.includes("\r\n")) out = out.replace(/\r\n/g, "\n");
  return out;
}

export function buildLineTable(text: string): LineTable {
  let count = 1;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) count++;
  const start = new Int32Array(count);
  const end = new Int32Array(count);
  const indent = new Int32Array(count);
  const body = new Int32Array(count);
  let pos = 0;
  for (let line = 0; line < count; line++) {
    const nl = text.indexOf("\n", pos);
    const stop = nl === -1 ? text.length : nl;
    let width = 0;
    let i = pos;
    for (; i < stop; i++) {
      const c = text.charCodeAt(i);
      if (c === 32) width++;
      else if (c === 9) width += TAB_WIDTH;
      else if (c !== 13 && c !== 11 && c !== 12) break;
    }
    start[line] = pos;
    end[line] = stop;
    body[line] = i;
    indent[line] = i === stop ? -1 : width;
    pos = stop + 1;
  }
  return { text, count, start, end, indent, body };
}

/** The 0-based line that holds `offset` (binary search). */
export function lineAt(table: LineTable, offset: number): number {
  const { start } = table;
  let lo = 0;
  let hi = table.count - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if ((start[mid] as number) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The line's text without its leading whitespace. */
export function lineBody(table: LineTable, line: number): string {
  return table.text.slice(table.body[line], table.end[line]);
}

export function isBlank(table: LineTable, line: number): boolean {
  return (table.indent[line] as number) < 0;
}

/** 32-bit FNV-1a of the first 120 characters of a line's body: the unit's anchor key. */
export function lineKey(table: LineTable, line: number): number {
  const { text } = table;
  const from = table.body[line] as number;
  const to = Math.min(table.end[line] as number, from + 120);
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
