import type { ReactNode } from "react";
import { TableWrap } from "./bits";

/** One column of a DataTable: its header, and what each row shows in it. */
export interface Column<T> {
  /** The header text; with `srOnly` it is read by screen readers only (e.g. "Actions"). */
  header: string;
  srOnly?: boolean;
  /** Classes of the header cell (e.g. "text-right"). */
  headerClassName?: string;
  /** Classes of each body cell. */
  className?: string;
  cell: (row: T) => ReactNode;
}

/**
 * The console's table: a keyboard-reachable region that scrolls sideways on a phone, column
 * headers with `scope="col"`, a caption for screen readers, and what to show instead of an
 * empty table (an EmptyState or a line that says what to do next).
 */
export function DataTable<T>({
  label,
  caption,
  columns,
  rows,
  rowKey,
  empty,
  testId,
  rowTestId,
}: {
  /** The scrolling region's accessible name. */
  label: string;
  /** A caption read by screen readers (visually hidden). */
  caption?: string;
  columns: Column<T>[];
  rows: readonly T[];
  rowKey: (row: T) => string;
  /** Shown instead of the table when there is no row; without it an empty table is shown. */
  empty?: ReactNode;
  testId?: string;
  rowTestId?: string | ((row: T) => string);
}) {
  if (rows.length === 0 && empty !== undefined) return <>{empty}</>;
  return (
    <TableWrap label={label}>
      <table className="table" data-testid={testId}>
        {caption ? <caption className="sr-only">{caption}</caption> : null}
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.header} scope="col" className={c.headerClassName}>
                {c.srOnly ? <span className="sr-only">{c.header}</span> : c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr
              key={rowKey(row)}
              data-testid={typeof rowTestId === "function" ? rowTestId(row) : rowTestId}
            >
              {columns.map((c) => (
                <td key={c.header} className={c.className}>
                  {c.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

/** Spread into a column of figures (counts, costs, attempts): right-aligned, tabular digits. */
export const FIGURES = {
  headerClassName: "text-right",
  className: "text-right tabular-nums",
} as const;
