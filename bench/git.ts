import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Commits get a fixed identity and no signing, whatever the machine's git config says. */
const IDENTITY = [
  "-c",
  "user.name=Ballast Bench",
  "-c",
  "user.email=bench@ballast.invalid",
  "-c",
  "commit.gpgsign=false",
  "-c",
  "core.autocrlf=false",
  // No detached `git gc --auto` after a fetch or commit: it would still be writing objects when
  // the bench removes its temp directory (rm then fails with ENOTEMPTY), and it competes for
  // the CPU with what is being measured.
  "-c",
  "gc.auto=0",
  "-c",
  "maintenance.auto=false",
];

export async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run("git", [...IDENTITY, ...args], {
    cwd,
    maxBuffer: 512 * 1024 * 1024,
    encoding: "utf8",
  });
  return stdout;
}
