/**
 * The value lists that command definitions name in their help text and check before any backend
 * is opened, from the modules that define them and import nothing (importing db/schema,
 * lib/config or lib/retention themselves would load drizzle and zod — about a second of CPU —
 * for `ballast --help` and for every argument error).
 */
import { DEAD_LETTER_STATUSES, ROLES, RUN_STATUSES } from "../../db/schema/values";
import { MODES } from "../config/modes";
import { DATASET_PREFIXES } from "../retention/dataset-prefixes";

export { DATASET_PREFIXES, DEAD_LETTER_STATUSES, MODES, ROLES, RUN_STATUSES };
