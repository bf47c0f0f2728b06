import { describe, expect, it } from "vitest";
import { DEAD_LETTER_STATUSES, RUN_STATUSES } from "../../db/schema";
import { ROLES } from "../../lib/auth/roles";
import * as choices from "../../lib/cli/choices";
import { MODES } from "../../lib/config";
import { DATASETS } from "../../lib/retention/datasets";

// lib/cli/choices.ts mirrors these lists so that `ballast --help` and argument errors load
// neither drizzle nor zod; a value added to (or renamed in) the original must appear here too.
describe("the CLI's value lists", () => {
  it("equal the lists they mirror, in the same order", () => {
    expect(choices.RUN_STATUSES).toEqual(RUN_STATUSES);
    expect(choices.DEAD_LETTER_STATUSES).toEqual(DEAD_LETTER_STATUSES);
    expect(choices.ROLES).toEqual(ROLES);
    expect(choices.MODES).toEqual(MODES);
    expect(choices.ARCHIVE_DATASETS).toEqual(DATASETS.map((d) => d.prefix));
  });
});
