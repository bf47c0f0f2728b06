import { ROLES, type Role } from "../../db/schema/values";
import { ValidationError } from "../errors";

export { ROLES, type Role };

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function roleAllows(held: Role, needed: Role): boolean {
  return RANK[held] >= RANK[needed];
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/**
 * Checks a role given as input: a ValidationError naming the roles otherwise. Light (no
 * database module), so the CLI checks `--role` before it opens anything.
 */
export function assertRole(value: string): asserts value is Role {
  if (!isRole(value))
    throw new ValidationError(`role must be one of ${ROLES.join(", ")}`, [
      { path: "role", message: `got ${value}` },
    ]);
}
