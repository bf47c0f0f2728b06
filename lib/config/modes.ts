/** Where Ballast runs. Imports nothing: the CLI's help and argument checks use it unloaded. */
export const MODES = ["development", "test", "staging", "production"] as const;
export type Mode = (typeof MODES)[number];
