import { userInfo } from "node:os";
import path from "node:path";
import type { Runtime } from "../runtime";
import type { Output } from "./output";

/**
 * Lazily opens the backends for the commands that need them, and closes them at the end. The
 * configuration, logger and runtime modules are imported on first use, so a command that fails
 * its argument checks (or `--help`) loads none of them and opens no database.
 */
export class CliContext {
  verbose = false;
  exitCode = 0;
  private runtime: Promise<Runtime> | undefined;

  constructor(
    readonly io: Output,
    /** The project root (where db/migrations is), when known. */
    readonly root?: string,
  ) {}

  /**
   * The backends, opened on first use. `serveDatabase`: the embedded database runs in a
   * worker thread, as the app runs it, so that a long statement (a vector index build) never
   * blocks this thread: progress keeps moving and Ctrl-C is heard. Only the first call's
   * options count; a database that another process serves is connected to either way.
   */
  getRuntime(options: { serveDatabase?: boolean } = {}): Promise<Runtime> {
    if (!this.runtime) this.runtime = this.openRuntime(options.serveDatabase === true);
    return this.runtime;
  }

  private async openRuntime(serveDatabase: boolean): Promise<Runtime> {
    const [{ getConfig }, { createLogger }, { createRuntime }] = await Promise.all([
      import("../config"),
      import("../log/logger"),
      import("../runtime"),
    ]);
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
    return createRuntime(config, {
      log,
      migrationsFolder: this.migrationsFolder(),
      serveDatabase,
    });
  }

  /** db/migrations under the project root, when the root is known. */
  migrationsFolder(): string | undefined {
    return this.root ? path.join(this.root, "db", "migrations") : undefined;
  }

  async deps() {
    const { pipelineDeps } = await import("../pipeline/deps");
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
