/**
 * Argument helpers the command definitions use when they are registered. Kept free of heavy
 * imports: every command is registered on each run (for `--help` and argument errors), while a
 * command's implementation modules are imported only when its action runs.
 */
import { ValidationError } from "../errors";

/** For a repeatable option: appends each value. */
export const collect = (value: string, previous: string[]) => [...previous, value];

export function parsePositiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new ValidationError(`${name} must be a positive whole number`, [
      { path: name, message: value },
    ]);
  return Number(value);
}
