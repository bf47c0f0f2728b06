import { userInfo } from "node:os";
import path from "node:path";
import { getConfig } from "../config";
import { createLogger } from "../log/logger";
import { pipelineDeps } from "../pipeline/deps";
import { createRuntime, type Runtime } from "../runtime";
import type { Output } from "./output";

/** Lazily opens the backends for the commands that need them, and closes them at the end. */
export class CliContext {
  verbose = false;
  exitCode = 0;
  private runtime: Promise<Runtime> | undefined;

  constructor(
    readonly io: Output,
    /** The project root (where db/migrations is), when known. */
    readonly root?: string,
  ) {}

  getRuntime(): Promise<Runtime> {
    if (!this.runtime) {
      const config = getConfig();
      const log = createLogger({
        level: this.verbose
          ? "info"
          : config.logLevel === "debug" || config.logLevel === "trace"
            ? config.logLevel
            : "warn",
        secrets: config.secrets,
        destination: { write: (line: string) => process.stderr.write(line) },
        base: { cli: true },
      });
      this.runtime = createRuntime(config, {
        log,
        migrationsFolder: this.root ? path.join(this.root, "db", "migrations") : undefined,
      });
    }
    return this.runtime;
  }

  async deps() {
    return pipelineDeps(await this.getRuntime());
  }

  /** The actor recorded in the audit log for CLI actions. */
  actor(): string {
    try {
      return `cli:${userInfo().username}`;
    } catch {
      return "cli:unknown";
    }
  }

  async close(): Promise<void> {
    if (!this.runtime) return;
    const runtime = await this.runtime.catch(() => undefined);
    await runtime?.close();
  }
}
