import type { PhaseFigures } from "./types";

/** The breaking-point criteria (issue 13): more than 1 % errors, or p99 over 1 s. */
export const CRITERIA = { maxErrorRate: 0.01, maxP99Ms: 1000 } as const;

/** Which criterion a step broke, in words; null when it met both. */
export function brokenCriterion(step: PhaseFigures): string | null {
  const broken: string[] = [];
  if (step.errorRate > CRITERIA.maxErrorRate) {
    const codes = Object.entries(step.statusCodes)
      .filter(([code]) => !code.startsWith("2"))
      .map(([code, n]) => `${n}× ${code}`);
    if (step.errors.timeouts) codes.push(`${step.errors.timeouts} timeouts`);
    if (step.errors.connection) codes.push(`${step.errors.connection} connection errors`);
    broken.push(
      `error rate ${(step.errorRate * 100).toFixed(1)} % > ${CRITERIA.maxErrorRate * 100} % (${codes.join(", ")})`,
    );
  }
  if (step.latency.p99 > CRITERIA.maxP99Ms)
    broken.push(`p99 ${Math.round(step.latency.p99)} ms > ${CRITERIA.maxP99Ms} ms`);
  return broken.length ? broken.join("; ") : null;
}

/** A thread counts as saturated at this share of one core, the machine at this share of all. */
const SATURATED = 85;

/**
 * What gave out first at the first bad step, from the server's threads and memory, the whole
 * machine's CPU (it is shared: the load generator and other processes run on it too) and the
 * liveness probe, checked in this order:
 * - memory: RSS near the machine's memory, or grown more than 50 % over the last good step;
 * - event loop: the main thread (routes, the embedded runner) busy ≥ 85 % of a core — every
 *   request waits for JavaScript on that one thread (the probe's latency shows the wait);
 * - database: the embedded database's worker thread ≥ 85 % of a core — PGlite runs one
 *   statement at a time, so queries queue behind each other (a lock in effect);
 *   (when both are saturated, the busier one is named);
 * - CPU: the machine's cores ≥ 85 % busy while no server thread is saturated: the server's
 *   threads were runnable but waited for a core (the load generator, other processes);
 * otherwise no resource saturated and the latency is queueing (the evidence is given).
 */
export function diagnose(
  bad: PhaseFigures,
  good: PhaseFigures | null,
  machine: { cpuCount: number; totalMemoryBytes: number },
  idleProbeP99Ms: number,
): string {
  const s = bad.server;
  const evidence = [
    `server ${s.cpuPercent} % of a core (main thread ${s.mainThreadCpuPercent} %, database worker ${s.workerThreadCpuPercent} %, GC/helpers ${s.helperThreadsCpuPercent} %)`,
    `machine ${bad.machineBusyPercent} % busy (load generator ${bad.loadgenCpuPercent} % of a core)`,
    `liveness probe p99 ${bad.probe.p99} ms (idle ${idleProbeP99Ms} ms)`,
    `peak RSS ${Math.round(s.rssPeakBytes / 1024 / 1024)} MiB`,
  ].join("; ");
  const grewBy =
    good && good.server.rssPeakBytes > 0 ? s.rssPeakBytes / good.server.rssPeakBytes : 1;
  if (s.rssPeakBytes > 0.8 * machine.totalMemoryBytes || grewBy > 1.5)
    return `memory: peak RSS ${Math.round(s.rssPeakBytes / 1024 / 1024)} MiB${good ? ` (${grewBy.toFixed(1)}× the last good step)` : ""} — ${evidence}`;
  const threads = [
    {
      percent: s.mainThreadCpuPercent,
      text: `event loop: the main thread was busy ${s.mainThreadCpuPercent} % of a core, so requests waited for JavaScript on that one thread`,
    },
    {
      percent: s.workerThreadCpuPercent,
      text: `database: the embedded PGlite's worker thread was busy ${s.workerThreadCpuPercent} % of a core — it runs one statement at a time, so queries queued behind each other`,
    },
  ]
    .filter((t) => t.percent >= SATURATED)
    .sort((a, b) => b.percent - a.percent);
  if (threads[0]) return `${threads[0].text} — ${evidence}`;
  if (bad.machineBusyPercent >= SATURATED)
    return `CPU: the machine's ${machine.cpuCount} cores were ${bad.machineBusyPercent} % busy while no server thread was saturated — its threads waited for a core (the load generator and other processes share them) — ${evidence}`;
  return `no resource saturated: latency grew by queueing at ${bad.connections} connections — ${evidence}`;
}
