import { type LineTable, lineKey } from "./lines";
import { type Ctx, packUnits, splitLines, type Unit } from "./pack";

/**
 * Markdown: one section per heading (ATX `#`…`######`, and setext `===`/`---` under a
 * one-line paragraph), carrying its heading path ("Install > Linux"). Headings inside fenced
 * code blocks and YAML front matter do not count. A section larger than a chunk is split at
 * blocks (paragraphs, lists, tables; a fenced code block is one block, never cut unless it is
 * itself larger than a chunk), the heading line staying with the block after it; a block larger
 * than a chunk is split by lines.
 */

const SEPARATOR = " > ";

interface Fence {
  char: number;
  length: number;
}

/** An opening fence at this line: ``` or ~~~ (3+), indented at most 3 spaces. */
function openFence(lines: LineTable, line: number): Fence | undefined {
  const width = lines.indent[line] as number;
  if (width < 0 || width > 3) return undefined;
  const { text } = lines;
  const at = lines.body[line] as number;
  const char = text.charCodeAt(at);
  if (char !== 96 && char !== 126) return undefined;
  const end = lines.end[line] as number;
  let i = at;
  while (i < end && text.charCodeAt(i) === char) i++;
  if (i - at < 3) return undefined;
  // A backtick fence's info string may not contain a backtick.
  if (char === 96) {
    const tick = text.indexOf("`", i);
    if (tick !== -1 && tick < end) return undefined;
  }
  return { char, length: i - at };
}

function closesFence(lines: LineTable, line: number, fence: Fence): boolean {
  const width = lines.indent[line] as number;
  if (width < 0 || width > 3) return false;
  const { text } = lines;
  const at = lines.body[line] as number;
  const end = lines.end[line] as number;
  let i = at;
  while (i < end && text.charCodeAt(i) === fence.char) i++;
  if (i - at < fence.length) return false;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
    i++;
  }
  return true;
}

const ATX = /(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/my;
const SETEXT = /(?:=+|-+)[ \t]*$/my;
/** A line that can be the text of a setext heading: not a list item, quote, table or HTML. */
const PLAIN = /(?![-*+>#|<]|\d+[.)])\S/y;

interface Heading {
  /** First line of the heading (the text line of a setext heading). */
  line: number;
  /** Number of lines it takes (2 for setext). */
  lines: number;
  level: number;
  text: string;
}

function findHeadings(lines: LineTable): Heading[] {
  const { text, indent, body, count } = lines;
  const headings: Heading[] = [];
  let fence: Fence | undefined;
  let from = 0;
  // YAML front matter: "---" on the first line, up to the next "---" or "...".
  if (count > 1 && text.startsWith("---") && /^---[ \t]*$/.test(text.slice(0, lines.end[0]))) {
    for (let i = 1; i < count; i++) {
      const line = text.slice(lines.start[i], lines.end[i]).trimEnd();
      if (line === "---" || line === "...") {
        from = i + 1;
        break;
      }
    }
  }
  let previousPlain = false; // the previous line is a one-line paragraph after a blank line
  let previousBlank = true;
  for (let i = from; i < count; i++) {
    const width = indent[i] as number;
    if (width < 0) {
      previousBlank = true;
      previousPlain = false;
      continue;
    }
    const at = body[i] as number;
    if (fence) {
      if (closesFence(lines, i, fence)) fence = undefined;
      previousBlank = false;
      previousPlain = false;
      continue;
    }
    const c = text.charCodeAt(at);
    let plain = false;
    if (width <= 3) {
      if (c === 96 || c === 126) {
        fence = openFence(lines, i);
        if (fence) {
          previousBlank = false;
          previousPlain = false;
          continue;
        }
      }
      if (c === 35 /* # */) {
        ATX.lastIndex = at;
        const m = ATX.exec(text);
        if (m) {
          headings.push({
            line: i,
            lines: 1,
            level: (m[1] as string).length,
            text: (m[2] ?? "").trim(),
          });
          previousBlank = false;
          previousPlain = false;
          continue;
        }
      }
      if ((c === 61 /* = */ || c === 45) /* - */ && previousPlain) {
        SETEXT.lastIndex = at;
        if (SETEXT.test(text)) {
          headings.push({
            line: i - 1,
            lines: 2,
            level: c === 61 ? 1 : 2,
            text: text.slice(body[i - 1], lines.end[i - 1]).trim(),
          });
          previousBlank = false;
          previousPlain = false;
          continue;
        }
      }
      PLAIN.lastIndex = at;
      plain = previousBlank && PLAIN.test(text);
    }
    previousPlain = plain;
    previousBlank = false;
  }
  return headings;
}

export function chunkMarkdown(ctx: Ctx): void {
  const { lines } = ctx;
  const { indent, count } = lines;
  const headings = findHeadings(lines);
  interface MdUnit extends Unit {
    headingLines: number;
  }
  const units: MdUnit[] = [];
  const stack: { level: number; text: string }[] = [];
  const addSection = (from: number, to: number, heading: Heading | undefined) => {
    let first = from;
    let last = to;
    while (first <= last && (indent[first] as number) < 0) first++;
    while (last > first && (indent[last] as number) < 0) last--;
    if (first > last) return;
    let path: string | undefined;
    if (heading) {
      while (
        stack.length > 0 &&
        (stack[stack.length - 1] as { level: number }).level >= heading.level
      )
        stack.pop();
      stack.push({ level: heading.level, text: heading.text });
      path = stack.map((h) => h.text).join(SEPARATOR);
    }
    units.push({
      first,
      last,
      key: lineKey(lines, first),
      heading: path,
      headingLines: heading ? heading.lines : 0,
    });
  };
  addSection(0, headings.length > 0 ? (headings[0] as Heading).line - 1 : count - 1, undefined);
  for (let k = 0; k < headings.length; k++) {
    const heading = headings[k] as Heading;
    const next = headings[k + 1];
    addSection(heading.line, next === undefined ? count - 1 : next.line - 1, heading);
  }
  packUnits(
    ctx,
    units,
    ctx.size,
    0,
    (unit) => splitSection(ctx, unit.first, unit.last, unit.heading, unit.headingLines),
    sharedPath,
  );
}

/**
 * A chunk of several sections is headed by the path they all share ("Install" for "Install >
 * Linux" and "Install > macOS"); when they share none, by the first one's.
 */
function sharedPath(chunk: string | undefined, unit: string | undefined): string | undefined {
  if (chunk === undefined || unit === undefined) return chunk ?? unit;
  if (unit === chunk || unit.startsWith(`${chunk}${SEPARATOR}`)) return chunk;
  const a = chunk.split(SEPARATOR);
  const b = unit.split(SEPARATOR);
  let shared = 0;
  while (shared < a.length && shared < b.length && a[shared] === b[shared]) shared++;
  return shared === 0 ? chunk : a.slice(0, shared).join(SEPARATOR);
}

/** Blocks: runs of non-blank lines, a fenced code block being one block whatever it contains. */
function splitSection(
  ctx: Ctx,
  first: number,
  last: number,
  heading: string | undefined,
  headingLines: number,
): void {
  const { lines } = ctx;
  const { indent } = lines;
  const units: Unit[] = [];
  let blockStart = -1;
  let previous = -1;
  let fence: Fence | undefined;
  const close = (end: number) => {
    if (blockStart >= 0)
      units.push({ first: blockStart, last: end, key: lineKey(lines, blockStart), heading });
    blockStart = -1;
  };
  for (let i = first; i <= last; i++) {
    if (fence) {
      if (closesFence(lines, i, fence)) {
        fence = undefined;
        close(i);
      }
      if ((indent[i] as number) >= 0) previous = i;
      continue;
    }
    if ((indent[i] as number) < 0) {
      close(previous);
      continue;
    }
    const opened = openFence(lines, i);
    if (opened) {
      close(previous);
      fence = opened;
      blockStart = i;
    } else if (blockStart < 0) {
      blockStart = i;
    }
    previous = i;
  }
  close(previous);
  // The heading stays with the block after it.
  const head = units[0];
  const second = units[1];
  if (headingLines > 0 && head && second && head.last === first + headingLines - 1) {
    units.splice(0, 2, { first: head.first, last: second.last, key: head.key, heading });
  }
  packUnits(ctx, units, ctx.size, 0, (unit) => splitLines(ctx, unit.first, unit.last, heading));
}
