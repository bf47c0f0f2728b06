import { lineKey } from "./lines";
import { type Ctx, packUnits, splitLines, type Unit } from "./pack";

/** The run shared by every piece of a plain-text document: all consecutive pieces overlap. */
const TEXT_RUN = 1;

/**
 * Plain text: paragraphs (runs of non-blank lines) packed into chunks, a paragraph larger than
 * a chunk split by lines, a line larger than a chunk cut by characters. Consecutive chunks
 * overlap by up to `overlap` characters of whole lines, so they are packed to `size - overlap`.
 */
export function chunkText(ctx: Ctx): void {
  const { lines } = ctx;
  const { indent, count } = lines;
  const units: Unit[] = [];
  let first = -1;
  for (let line = 0; line <= count; line++) {
    const blank = line === count || (indent[line] as number) < 0;
    if (!blank && first < 0) first = line;
    if (blank && first >= 0) {
      units.push({ first, last: line - 1, key: lineKey(lines, first), heading: undefined });
      first = -1;
    }
  }
  packUnits(ctx, units, ctx.size - ctx.overlap, TEXT_RUN, (unit) =>
    splitLines(ctx, unit.first, unit.last, undefined, TEXT_RUN),
  );
}
