import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

/**
 * A headless Chromium for the browser tests: the system's (Debian's `chromium`, which CI
 * installs) when there is one, else the one shipped inside the npm package
 * `@sparticuz/chromium` (unpacked to the temp folder on first use), so `npm test` passes on a
 * fresh machine with only Node and git.
 */
const SYSTEM_CHROMIUM = [
  "/usr/bin/chromium",
  "/usr/lib/chromium/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
];

const QUIET_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export interface BrowserChoice {
  executablePath: string;
  args: string[];
  source: "system" | "@sparticuz/chromium";
}

/** The system's Chromium among `candidates`, else the bundled one. */
export async function findChromium(candidates = SYSTEM_CHROMIUM): Promise<BrowserChoice> {
  const system = candidates.find((candidate) => existsSync(candidate));
  if (system) return { executablePath: system, args: QUIET_ARGS, source: "system" };
  const bundled = (await import("@sparticuz/chromium")).default;
  return {
    executablePath: await bundled.executablePath(),
    args: [...new Set([...bundled.args, ...QUIET_ARGS])],
    source: "@sparticuz/chromium",
  };
}

export async function launchBrowser(): Promise<Browser> {
  const choice = await findChromium();
  return chromium.launch({
    executablePath: choice.executablePath,
    headless: true,
    args: choice.args,
  });
}
