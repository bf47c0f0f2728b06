/** Splits a snippet into plain and matching parts: query words (and identifier parts) marked. */
export function highlight(text: string, query: string): { text: string; match: boolean }[] {
  const terms = [
    ...new Set(
      query
        .split(/[^\p{L}\p{N}_]+/u)
        .flatMap((w) => [w, ...w.split(/(?<=[a-z0-9])(?=[A-Z])|_/)])
        .map((w) => w.toLowerCase())
        .filter((w) => w.length > 1),
    ),
  ]
    .sort((a, b) => b.length - a.length)
    .slice(0, 20);
  if (terms.length === 0) return [{ text, match: false }];
  const pattern = new RegExp(
    `(${terms.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})`,
    "giu",
  );
  return text
    .split(pattern)
    .filter((part) => part !== "")
    .map((part) => ({ text: part, match: terms.includes(part.toLowerCase()) }));
}
