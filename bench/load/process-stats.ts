import { readdir, readFile } from "node:fs/promises";

/**
 * CPU and memory of the server process, read from Linux's /proc (no dependency: pidusage
 * reads the same files but gives neither per-thread CPU nor the peak RSS, which are what tell
 * a saturated event loop from a saturated database thread).
 *
 *   /proc/<pid>/stat                  utime + stime of the whole process (all threads)
 *   /proc/<pid>/task/<tid>/stat,comm  the same per thread, with the thread's name
 *   /proc/<pid>/status                VmRSS (now), VmHWM (peak since start), Threads
 *
 *   /proc/stat                        the whole machine's busy time (other processes too)
 *
 * The main thread (tid = pid) runs the event loop (Next.js, the routes, the embedded runner);
 * the embedded database (PGlite) runs in a Node worker thread.
 */
export interface CpuSnapshot {
  at: number;
  /** Process CPU time (user + system), ms. */
  processMs: number;
  /** CPU time per thread id, ms, with the thread's name. */
  threads: Map<number, { name: string; ms: number }>;
}

export interface MemorySnapshot {
  rssBytes: number;
  peakRssBytes: number;
  threads: number;
}

export interface CpuUsage {
  /** Process CPU over the interval as a share of one core (200 = two cores busy). */
  processPercent: number;
  /** The main thread (the event loop), % of one core. */
  mainThreadPercent: number;
  /**
   * The busiest Node worker thread, % of one core. Worker threads inherit the main thread's
   * name (Next.js renames the process before the app starts its workers); in Ballast's app
   * the busy one is the embedded database (PGlite in db/pglite-server.mjs).
   */
  workerThreadPercent: number;
  /** Every other thread (V8's GC and compiler threads, libuv's pool), summed, % of one core. */
  helperThreadsPercent: number;
}

/** CPU time of the whole machine from /proc/stat: busy and total jiffies over all cores. */
export interface MachineSnapshot {
  busy: number;
  total: number;
}

const clockTicks = 100; // USER_HZ: 100 on every Linux architecture Node supports

/** Fields 14 and 15 (utime, stime) of a stat line; the name in parentheses may hold spaces. */
export function parseStatCpuMs(stat: string): number {
  const close = stat.lastIndexOf(")");
  const fields = stat
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // fields[0] is field 3 (state): utime is field 14 → index 11, stime field 15 → index 12.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error("unreadable stat line");
  return ((utime + stime) * 1000) / clockTicks;
}

export function parseStatus(status: string): MemorySnapshot {
  const kib = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, "m").exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  };
  const threads = /^Threads:\s+(\d+)/m.exec(status);
  return {
    rssBytes: kib("VmRSS"),
    peakRssBytes: kib("VmHWM"),
    threads: threads ? Number(threads[1]) : 0,
  };
}

export async function cpuSnapshot(pid: number): Promise<CpuSnapshot> {
  const processMs = parseStatCpuMs(await readFile(`/proc/${pid}/stat`, "utf8"));
  const threads = new Map<number, { name: string; ms: number }>();
  const tids = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  await Promise.all(
    tids.map(async (tid) => {
      try {
        const [stat, comm] = await Promise.all([
          readFile(`/proc/${pid}/task/${tid}/stat`, "utf8"),
          readFile(`/proc/${pid}/task/${tid}/comm`, "utf8"),
        ]);
        threads.set(Number(tid), { name: comm.trim(), ms: parseStatCpuMs(stat) });
      } catch {
        // the thread ended between the listing and the read
      }
    }),
  );
  return { at: performance.now(), processMs, threads };
}

export async function memorySnapshot(pid: number): Promise<MemorySnapshot> {
  return parseStatus(await readFile(`/proc/${pid}/status`, "utf8"));
}

export function cpuBetween(pid: number, before: CpuSnapshot, after: CpuSnapshot): CpuUsage {
  const wallMs = Math.max(1, after.at - before.at);
  const pct = (ms: number) => Math.round((ms / wallMs) * 1000) / 10;
  const mainName = after.threads.get(pid)?.name;
  let main = 0;
  let worker = 0;
  let helpers = 0;
  for (const [tid, now] of after.threads) {
    const used = now.ms - (before.threads.get(tid)?.ms ?? 0);
    if (tid === pid) main = used;
    else if (now.name === mainName) worker = Math.max(worker, used);
    else helpers += used;
  }
  return {
    processPercent: pct(after.processMs - before.processMs),
    mainThreadPercent: pct(main),
    workerThreadPercent: pct(worker),
    helperThreadsPercent: pct(helpers),
  };
}

export function parseProcStat(text: string): MachineSnapshot {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) throw new Error("no cpu line in /proc/stat");
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] =
    line.trim().split(/\s+/).slice(1).map(Number);
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: total - idle - iowait, total };
}

export async function machineSnapshot(): Promise<MachineSnapshot> {
  return parseProcStat(await readFile("/proc/stat", "utf8"));
}

/** How busy the machine's cores were between two snapshots, 0-100 %. */
export function machineBusyPercent(before: MachineSnapshot, after: MachineSnapshot): number {
  const total = after.total - before.total;
  return total <= 0 ? 0 : Math.round(((after.busy - before.busy) / total) * 1000) / 10;
}

/** True when /proc can be read for this process (Linux). */
export async function procAvailable(pid: number): Promise<boolean> {
  try {
    await readFile(`/proc/${pid}/stat`, "utf8");
    return true;
  } catch {
    return false;
  }
}

/**
 * Samples memory every `intervalMs` while a phase runs: the highest RSS seen, and the RSS at
 * the end. CPU needs no sampling (two snapshots give the mean over the phase).
 */
export class PhaseSampler {
  private timer: NodeJS.Timeout | undefined;
  private peak = 0;
  private last = 0;
  private start: CpuSnapshot | undefined;
  private machineStart: MachineSnapshot | undefined;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 250,
  ) {}

  async begin(): Promise<void> {
    this.start = await cpuSnapshot(this.pid);
    this.machineStart = await machineSnapshot();
    const tick = async () => {
      try {
        const memory = await memorySnapshot(this.pid);
        this.last = memory.rssBytes;
        this.peak = Math.max(this.peak, memory.rssBytes);
      } catch {
        // the process exited: the phase will say so
      }
    };
    await tick();
    this.timer = setInterval(() => void tick(), this.intervalMs);
  }

  async end(): Promise<{
    cpu: CpuUsage;
    machineBusyPercent: number;
    rssPeakBytes: number;
    rssEndBytes: number;
  }> {
    clearInterval(this.timer);
    const end = await cpuSnapshot(this.pid);
    const machineEnd = await machineSnapshot();
    const memory = await memorySnapshot(this.pid).catch(() => undefined);
    if (memory) {
      this.last = memory.rssBytes;
      this.peak = Math.max(this.peak, memory.rssBytes);
    }
    if (!this.start || !this.machineStart) throw new Error("PhaseSampler.end() before begin()");
    return {
      cpu: cpuBetween(this.pid, this.start, end),
      machineBusyPercent: machineBusyPercent(this.machineStart, machineEnd),
      rssPeakBytes: this.peak,
      rssEndBytes: this.last,
    };
  }
}
