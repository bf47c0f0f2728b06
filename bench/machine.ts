import os from "node:os";
import { git } from "./git";

export interface MachineInfo {
  cpuModel: string;
  cpuCount: number;
  totalMemoryBytes: number;
  os: string;
  kernel: string;
  arch: string;
  node: string;
  loadAverageAtStart: [number, number, number];
  gitCommit: string;
  /** Uncommitted changes in the checkout when the bench ran. */
  gitDirty: boolean;
  date: string;
}

export async function machineInfo(projectRoot: string): Promise<MachineInfo> {
  const cpus = os.cpus();
  const [one = 0, five = 0, fifteen = 0] = os.loadavg();
  let gitCommit = "unknown";
  let gitDirty = false;
  try {
    gitCommit = (await git(projectRoot, ["rev-parse", "HEAD"])).trim();
    gitDirty = (await git(projectRoot, ["status", "--porcelain"])).trim() !== "";
  } catch {
    // not a git checkout: leave "unknown"
  }
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cpuCount: os.availableParallelism?.() ?? cpus.length,
    totalMemoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()}`,
    kernel: os.version(),
    arch: os.arch(),
    node: process.version,
    loadAverageAtStart: [round2(one), round2(five), round2(fifteen)],
    gitCommit,
    gitDirty,
    date: new Date().toISOString(),
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;
