import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import Table from "cli-table3";

/** One line of the report: a measured figure, with its target when it has one. */
export interface ReportRow {
  section: string;
  measure: string;
  value: string;
  /** Raw value for the JSON (number, boolean or text). */
  raw: number | string | boolean | null;
  target: string;
  /** PASS / FAIL when there is a target; INFO otherwise; SKIP when not measured. */
  result: "PASS" | "FAIL" | "INFO" | "SKIP";
}

export class Report {
  readonly rows: ReportRow[] = [];

  info(section: string, measure: string, value: string, raw: ReportRow["raw"] = value): void {
    this.rows.push({ section, measure, value, raw, target: "", result: "INFO" });
  }

  check(
    section: string,
    measure: string,
    value: string,
    raw: ReportRow["raw"],
    target: string,
    pass: boolean,
  ): void {
    this.rows.push({ section, measure, value, raw, target, result: pass ? "PASS" : "FAIL" });
  }

  skip(section: string, measure: string, target: string, why: string): void {
    this.rows.push({ section, measure, value: why, raw: null, target, result: "SKIP" });
  }

  get failures(): ReportRow[] {
    return this.rows.filter((r) => r.result === "FAIL");
  }

  render(color: boolean): string {
    const table = new Table({
      head: ["", "measure", "value", "target", "result"],
      style: color ? { head: ["cyan"] } : { head: [], border: [] },
      colWidths: [13, 46, 34, 14, 8],
      wordWrap: true,
    });
    let section = "";
    for (const row of this.rows) {
      const result =
        !color || row.result === "INFO"
          ? row.result
          : row.result === "PASS"
            ? `\u001b[32m${row.result}\u001b[39m`
            : row.result === "FAIL"
              ? `\u001b[31m${row.result}\u001b[39m`
              : `\u001b[33m${row.result}\u001b[39m`;
      table.push([
        row.section === section ? "" : row.section,
        row.measure,
        row.value,
        row.target,
        result,
      ]);
      section = row.section;
    }
    return table.toString();
  }
}

/**
 * Writes the report as bench/results/<ISO date>.json and bench/results/latest.json, or with a
 * prefix (`load` → load-<ISO date>.json and load-latest.json).
 */
export async function writeResults(
  dir: string,
  date: Date,
  body: unknown,
  prefix?: string,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const stamp = date
    .toISOString()
    .replace(/:/g, "-")
    .replace(/\.\d+Z$/, "Z");
  const text = `${JSON.stringify(body, null, 2)}\n`;
  const name = (base: string) => (prefix ? `${prefix}-${base}` : base);
  const files = [path.join(dir, name(`${stamp}.json`)), path.join(dir, name("latest.json"))];
  for (const file of files) await writeFile(file, text);
  return files;
}

export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
export const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
export const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
export const int = (n: number) => Math.round(n).toLocaleString("en-US");
