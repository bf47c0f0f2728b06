import Table from "cli-table3";

/** Where the CLI writes: results to stdout, progress and diagnostics to stderr. */
export interface Output {
  out(line?: string): void;
  err(line?: string): void;
  readonly interactive: boolean;
}

export const consoleOutput: Output = {
  out: (line = "") => process.stdout.write(`${line}\n`),
  err: (line = "") => process.stderr.write(`${line}\n`),
  interactive: process.stderr.isTTY === true,
};

export function table(head: string[], rows: (string | number | null | undefined)[][]): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const row of rows)
    t.push(row.map((cell) => (cell === null || cell === undefined ? "" : String(cell))));
  return t.toString();
}

export function keyValueTable(rows: [string, string | number | null | undefined][]): string {
  const t = new Table({ style: { head: [], border: [] } });
  for (const [key, value] of rows)
    t.push({ [key]: value === null || value === undefined ? "" : String(value) });
  return t.toString();
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function shortSha(sha: string | null | undefined): string {
  return sha ? sha.slice(0, 12) : "";
}
