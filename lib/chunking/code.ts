import { type CodeProfile, DECLARATION, isContainer, SIGNATURE, symbolOf } from "./language";
import { lineBody, lineKey } from "./lines";
import { type Ctx, packUnits, splitLines, type Unit } from "./pack";

/**
 * Code: a line-based heuristic, no parser. A region of lines has a base indentation; a new unit
 * starts at a line on that indentation that either
 *  - follows a blank line, after a line that is not deeper (brace languages: the previous block
 *    has closed; indentation-based languages: always), or
 *  - declares something (function, class, def, fn, struct, type, const, `name(`…), when the
 *    region is a file or the body of a class-like container,
 * unless it continues the previous statement (`}`, `)`, `else`, `.method()`, …). Comments,
 * decorators and attributes right above a unit belong to it. A unit larger than a chunk is
 * split the same way one indentation level deeper (class → methods, function → statement
 * groups), then by lines.
 */

const MAX_DEPTH = 12;

interface CodeUnit extends Unit {
  keyLine: number;
  symbol: string | undefined;
}

interface Section {
  start: number;
  key: number;
}

function matchesAt(regex: RegExp, text: string, at: number): boolean {
  regex.lastIndex = at;
  return regex.test(text);
}

/** The whole document. */
export function chunkCode(ctx: Ctx, profile: CodeProfile): void {
  const { indent, count } = ctx.lines;
  let first = -1;
  let base = Number.MAX_SAFE_INTEGER;
  for (let line = 0; line < count; line++) {
    const width = indent[line] as number;
    if (width < 0) continue;
    if (first < 0) first = line;
    if (width < base) base = width;
  }
  if (first < 0) return;
  codeRegion(ctx, profile, first, count - 1, first, base, undefined, true, 0);
}

/**
 * Splits lines lo..hi into units at `base` indentation and packs them. The first unit starts at
 * lo and is defined by line `headKey`: the first line of a file, or the declaration of the unit
 * being split (depth > 0); candidates for further units come after it. Returns false, having
 * emitted nothing, when a nested region shows no structure (the caller then splits by lines).
 */
function codeRegion(
  ctx: Ctx,
  profile: CodeProfile,
  lo: number,
  hi: number,
  headKey: number,
  base: number,
  parentPath: string | undefined,
  declarations: boolean,
  depth: number,
): boolean {
  const { lines } = ctx;
  const { text, indent, body } = lines;
  const nested = depth > 0;
  const sections: Section[] = [{ start: lo, key: headKey }];
  let reachedBound = false;
  let prev = -1; // previous non-blank line
  for (let i = lo; i <= hi; i++) {
    const width = indent[i] as number;
    if (width < 0) continue;
    if (i > headKey && width === base && isCandidate(i, prev)) {
      const bound = (sections[sections.length - 1] as Section).key + 1;
      const start = attachedStart(i, bound);
      const last = sections[sections.length - 1];
      if (
        last !== undefined &&
        reachedBound &&
        matchesAt(profile.attached, text, body[last.key] as number)
      ) {
        // The previous unit was only the opening line of this one's comment or decorator.
        last.key = i;
      } else {
        sections.push({ start, key: i });
      }
    }
    prev = i;
  }
  if (nested && sections.length < 2) return false;

  const units: CodeUnit[] = [];
  for (let k = 0; k < sections.length; k++) {
    const section = sections[k] as Section;
    const next = sections[k + 1];
    let first = section.start;
    let last = next === undefined ? hi : next.start - 1;
    while (first < last && (indent[first] as number) < 0) first++;
    while (last > first && (indent[last] as number) < 0) last--;
    if ((indent[first] as number) < 0) continue;
    const isHead = nested && k === 0;
    const scope = nested ? (declarations ? "member" : "body") : "top";
    const symbol = isHead ? undefined : symbolOf(lineBody(lines, section.key), scope);
    const heading = isHead
      ? parentPath
      : parentPath !== undefined && symbol !== undefined
        ? `${parentPath} > ${symbol}`
        : (symbol ?? parentPath);
    units.push({
      first,
      last,
      key: lineKey(lines, section.key),
      heading,
      keyLine: section.key,
      symbol,
    });
  }
  packUnits(ctx, units, ctx.size, 0, (unit) => splitUnit(ctx, profile, unit, base, depth));
  return true;

  function isCandidate(i: number, previous: number): boolean {
    const at = body[i] as number;
    if (matchesAt(profile.continuation, text, at)) return false;
    if (profile.everyLine) return true;
    if (
      (indent[i - 1] as number) < 0 &&
      (profile.indentBased || (indent[previous] as number) <= base)
    )
      return true;
    return declarations && (matchesAt(DECLARATION, text, at) || matchesAt(SIGNATURE, text, at));
  }

  /**
   * Walks up from a unit's first line over what belongs to it: comments, decorators and
   * attributes at its indentation, including multi-line ones (`@Component({ … })`).
   */
  function attachedStart(i: number, bound: number): number {
    let start = i;
    reachedBound = false;
    for (let j = i - 1; ; j--) {
      if (j < bound) {
        reachedBound = true;
        break;
      }
      const width = indent[j] as number;
      if (width < 0) break;
      const at = body[j] as number;
      if (width === base || (width === base + 1 && text.charCodeAt(at) === 42) /* "*" */) {
        if (matchesAt(profile.attached, text, at)) start = j;
        else if (!matchesAt(profile.continuation, text, at)) break;
      } else if (width < base) {
        break;
      }
    }
    return start;
  }
}

function splitUnit(
  ctx: Ctx,
  profile: CodeProfile,
  unit: CodeUnit,
  base: number,
  depth: number,
): void {
  const { indent } = ctx.lines;
  // The body's indentation: the shallowest one deeper than the unit's that at least two lines
  // use (so that one stray line, say in a multi-line string, does not decide it).
  const counts = new Map<number, number>();
  for (let line = unit.keyLine + 1; line <= unit.last; line++) {
    const width = indent[line] as number;
    if (width > base) counts.set(width, (counts.get(width) ?? 0) + 1);
  }
  let inner = Number.MAX_SAFE_INTEGER;
  let single = Number.MAX_SAFE_INTEGER;
  for (const [width, count] of counts) {
    if (count >= 2) inner = Math.min(inner, width);
    else single = Math.min(single, width);
  }
  if (inner === Number.MAX_SAFE_INTEGER) inner = single;
  if (
    depth < MAX_DEPTH &&
    inner !== Number.MAX_SAFE_INTEGER &&
    codeRegion(
      ctx,
      profile,
      unit.first,
      unit.last,
      unit.keyLine,
      inner,
      unit.heading,
      isContainer(unit.symbol),
      depth + 1,
    )
  ) {
    return;
  }
  splitLines(ctx, unit.first, unit.last, unit.heading);
}
