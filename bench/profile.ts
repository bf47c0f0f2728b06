import { mkdir, writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import path from "node:path";

/**
 * CPU profiles of single bench phases (`--profile`), through the inspector in this process:
 * the `.cpuprofile` file opens in Chrome DevTools or speedscope, and a summary of self time by
 * function and by module goes into the report, so the lead can see where a phase's time goes.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileEntry {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Self time by module: a package under node_modules, a project file, wasm, (idle), (gc)… */
  byModule: ProfileEntry[];
  /** Self time by function. */
  byFunction: ProfileEntry[];
  /** Inclusive time of project functions (lib/, db/), the pipeline's own steps. */
  projectInclusive: ProfileEntry[];
}

export class PhaseProfiler {
  private session: Session | undefined;

  constructor(
    private readonly dir: string,
    private readonly projectRoot: string,
  ) {}

  async start(): Promise<void> {
    this.session = new Session();
    this.session.connect();
    await this.session.post("Profiler.enable");
    await this.session.post("Profiler.setSamplingInterval", { interval: 1000 });
    await this.session.post("Profiler.start");
  }

  async stop(label: string): Promise<ProfileSummary> {
    const session = this.session;
    if (!session) throw new Error("profiler not started");
    const { profile } = (await session.post("Profiler.stop")) as { profile: CpuProfile };
    await session.post("Profiler.disable");
    session.disconnect();
    this.session = undefined;
    await mkdir(this.dir, { recursive: true });
    const file = path.join(this.dir, `${label}.cpuprofile`);
    await writeFile(file, JSON.stringify(profile));
    return summarize(profile, file, this.projectRoot);
  }
}

function moduleOf(frame: CallFrame, projectRoot: string): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName.startsWith("(")) return functionName; // (idle), (garbage collector), (program)
    if (functionName.startsWith("wasm-function") || functionName.startsWith("$"))
      return "wasm (PGlite)";
    return "(native)";
  }
  if (url.startsWith("wasm://")) return "wasm (PGlite)";
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "/node_modules/".length).split("/");
    return rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1] ?? ""}` : (rest[0] ?? url);
  }
  if (url.startsWith("node:")) return url;
  const local = url.replace(/^file:\/\//, "");
  if (local.startsWith(projectRoot)) return path.relative(projectRoot, local);
  return url;
}

function summarize(profile: CpuProfile, file: string, projectRoot: string): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute the next delta to sample i.
    const dt = deltas[i + 1] ?? 0;
    const id = samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const modules = new Map<string, number>();
  const functions = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const mod = moduleOf(node.callFrame, projectRoot);
    modules.set(mod, (modules.get(mod) ?? 0) + us);
    const fn = `${node.callFrame.functionName || "(anonymous)"} ${mod}:${node.callFrame.lineNumber + 1}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
    // Inclusive time for project functions: walk up the stack, counting each name once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)?.callFrame;
      if (!frame) break;
      const m = moduleOf(frame, projectRoot);
      if (!/^(lib|db)\//.test(m)) continue;
      const key = `${frame.functionName || "(anonymous)"} ${m}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const top = (map: Map<string, number>, n: number): ProfileEntry[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({
        name,
        ms: Math.round(us / 1000),
        share: total > 0 ? Math.round((us / total) * 1000) / 10 : 0,
      }));
  return {
    file,
    totalMs: Math.round(total / 1000),
    byModule: top(modules, 15),
    byFunction: top(functions, 25),
    projectInclusive: top(inclusive, 25),
  };
}
