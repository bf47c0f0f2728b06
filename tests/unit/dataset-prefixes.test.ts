import { describe, expect, it } from "vitest";
import { DATASET_PREFIXES } from "../../lib/retention/dataset-prefixes";
import { DATASETS } from "../../lib/retention/datasets";

// The CLI names and checks `--dataset` from DATASET_PREFIXES without loading the datasets; every
// dataset the cleanup archives must be listed there, once, in the cleanup's order.
describe("the archived datasets' prefixes", () => {
  it("are exactly the datasets', in order", () => {
    expect(DATASETS.map((d) => d.prefix)).toEqual([...DATASET_PREFIXES]);
  });
});
