import type { Config } from "../config";
import { pipelineDeps } from "../pipeline/deps";
import type { Runtime } from "../runtime";
import { workflows } from "../workflows";
import { EmbeddedRunner, type EmbeddedRunnerOptions } from "./embedded-runner";

export type { RunnerStatus } from "./embedded-runner";
export { EmbeddedRunner } from "./embedded-runner";

export interface RunnerChoice {
  runner: "inngest" | "embedded";
  /** Why, in a sentence (start-up summary, health). */
  reason: string;
}

/** Where the Inngest dev server is expected when INNGEST_DEV asks for it without a URL. */
export const DEFAULT_DEV_SERVER = "http://localhost:8288";

/**
 * Who runs the workflows in this process. Staging/production: Inngest. Development/test with
 * INNGEST_RUNNER=auto: the dev server when INNGEST_DEV asks for one and it answers, Inngest
 * when an event key is set, else the embedded runner (nothing else would run them).
 */
export async function chooseRunner(
  config: Config,
  fetchImpl: typeof fetch = fetch,
): Promise<RunnerChoice> {
  const setting = config.inngest.runner;
  if (setting === "inngest") return { runner: "inngest", reason: "INNGEST_RUNNER=inngest" };
  if (setting === "embedded") return { runner: "embedded", reason: "INNGEST_RUNNER=embedded" };
  if (config.mode === "production" || config.mode === "staging")
    return { runner: "inngest", reason: `${config.mode} runs workflows on Inngest` };
  if (config.inngest.dev) {
    const url = config.inngest.devServerUrl ?? config.inngest.baseUrl ?? DEFAULT_DEV_SERVER;
    const answered = await fetchImpl(url, { signal: AbortSignal.timeout(1500) }).then(
      () => true,
      () => false,
    );
    return answered
      ? { runner: "inngest", reason: `the Inngest dev server answers at ${new URL(url).host}` }
      : {
          runner: "embedded",
          reason: `no Inngest dev server answers at ${new URL(url).host}`,
        };
  }
  if (config.inngest.eventKey)
    return { runner: "inngest", reason: "an Inngest event key is configured" };
  return { runner: "embedded", reason: "no Inngest is configured" };
}

const holder = globalThis as unknown as {
  __ballastRunner?: { runner: EmbeddedRunner; choice: RunnerChoice };
  __ballastRunnerChoice?: RunnerChoice;
};

/** The embedded runner of this process, when it runs the workflows. */
export function getEmbeddedRunner(): EmbeddedRunner | undefined {
  return holder.__ballastRunner?.runner;
}

/** What runs the workflows in this process (set at start-up; undefined before). */
export function activeRunner(): RunnerChoice | undefined {
  return holder.__ballastRunnerChoice;
}

/** Decides the runner at server start and starts the embedded one when it is the choice. */
export async function startWorkflowRunner(
  runtime: Runtime,
  options: Partial<EmbeddedRunnerOptions> & { fetch?: typeof fetch } = {},
): Promise<RunnerChoice> {
  const choice = await chooseRunner(runtime.config, options.fetch);
  holder.__ballastRunnerChoice = choice;
  if (choice.runner === "embedded" && !holder.__ballastRunner) {
    const runner = new EmbeddedRunner({
      db: runtime.db,
      deps: async () => pipelineDeps(runtime),
      log: runtime.log,
      workflows,
      ...options,
    });
    runner.start();
    holder.__ballastRunner = { runner, choice };
  }
  return choice;
}

export async function stopWorkflowRunner(): Promise<void> {
  const current = holder.__ballastRunner;
  holder.__ballastRunner = undefined;
  holder.__ballastRunnerChoice = undefined;
  await current?.runner.stop();
}
