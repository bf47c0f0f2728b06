/**
 * The only module in Ballast that reads `process.env`. Everything else asks
 * `lib/config` for a validated, typed configuration. A test enforces this.
 */
export type EnvSource = Readonly<Record<string, string | undefined>>;

export function processEnv(): NodeJS.ProcessEnv {
  return process.env;
}

/** Sets defaults the framework reads directly (Next.js telemetry), never overriding the operator. */
export function setFrameworkEnvDefaults(): void {
  process.env.NEXT_TELEMETRY_DISABLED ??= "1";
}

/** True under `next dev` (Next sets NODE_ENV=development there, production under `next start`). */
export function runningNextDev(): boolean {
  return process.env.NODE_ENV === "development";
}
