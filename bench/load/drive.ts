import autocannon from "autocannon";
import { PhaseSampler } from "./process-stats";
import type { Endpoint, PhaseFigures } from "./types";

/**
 * One phase of load against one endpoint with autocannon: `connections` clients, each sending
 * its next request as soon as the last one is answered (closed loop), for `durationS`. Every
 * response's latency is recorded (any status, so slow errors count), the server process's CPU
 * and memory are sampled from /proc, and a liveness probe runs beside the load on its own
 * connection every 200 ms: its latency is how long the server's event loop takes to get to
 * a trivial request, the outside view of event-loop delay.
 */
export interface RequestPlan {
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  /** Called before each request: a fresh path, body and headers (webhook deliveries, queries). */
  next?: () => { path?: string; body?: string; headers?: Record<string, string> };
  /** Called with each response's status and body. */
  onResponse?: (status: number, body: string) => void;
}

export interface PhaseOptions {
  url: string;
  endpoint: Endpoint;
  connections: number;
  durationS: number;
  plan: RequestPlan;
  serverPid: number;
  /** Per-request timeout (a timeout counts as an error). */
  timeoutS?: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

export class LivenessProbe {
  private timer: NodeJS.Timeout | undefined;
  private samples: number[] = [];
  private failed = 0;
  private inFlight = false;

  constructor(
    private readonly url: string,
    private readonly everyMs = 200,
  ) {}

  start(): void {
    this.samples = [];
    this.failed = 0;
    this.timer = setInterval(() => void this.once(), this.everyMs);
  }

  private async once(): Promise<void> {
    if (this.inFlight) return; // a probe still waiting is itself the measurement
    this.inFlight = true;
    const started = performance.now();
    try {
      const response = await fetch(`${this.url}/api/health?probe=live`, {
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer();
      if (response.ok) this.samples.push(performance.now() - started);
      else this.failed++;
    } catch {
      this.failed++;
    } finally {
      this.inFlight = false;
    }
  }

  stop(): PhaseFigures["probe"] {
    clearInterval(this.timer);
    const sorted = [...this.samples].sort((a, b) => a - b);
    return {
      samples: sorted.length,
      p50: round1(percentile(sorted, 50)),
      p99: round1(percentile(sorted, 99)),
      max: round1(sorted.at(-1) ?? 0),
      failed: this.failed,
    };
  }
}

export async function runPhase(options: PhaseOptions): Promise<PhaseFigures> {
  const { plan } = options;
  const latencies: number[] = [];
  const sampler = new PhaseSampler(options.serverPid);
  const probe = new LivenessProbe(options.url);
  await sampler.begin();
  probe.start();
  const loadgenStart = process.cpuUsage();
  const wallStart = performance.now();

  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationS,
        timeout: options.timeoutS ?? 10,
        // Latencies of every status: a slow 503 is a slow answer.
        excludeErrorStats: false,
        requests: [
          {
            method: plan.method,
            path: plan.path,
            headers: plan.headers,
            ...(plan.next
              ? {
                  setupRequest: (request: autocannon.Request) => {
                    const next = plan.next?.() ?? {};
                    return {
                      ...request,
                      ...(next.path ? { path: next.path } : {}),
                      ...(next.body !== undefined ? { body: next.body } : {}),
                      headers: { ...plan.headers, ...next.headers },
                    };
                  },
                }
              : {}),
            ...(plan.onResponse
              ? {
                  onResponse: (status: number, body: string) => plan.onResponse?.(status, body),
                }
              : {}),
          },
        ],
      },
      (error, finished) => (error ? reject(error) : resolve(finished)),
    );
    instance.on("response", (_client: unknown, _status: number, _bytes: number, ms: number) => {
      latencies.push(ms);
    });
  });
  const wallMs = performance.now() - wallStart;
  const loadgen = process.cpuUsage(loadgenStart);
  const probeFigures = probe.stop();
  const server = await sampler.end();

  const sorted = latencies.sort((a, b) => a - b);
  const responses = sorted.length;
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(
    (result as unknown as { statusCodeStats?: Record<string, { count: number }> })
      .statusCodeStats ?? {},
  ))
    statusCodes[code] = stat.count;
  const ok = Object.entries(statusCodes)
    .filter(([code]) => code.startsWith("2"))
    .reduce((n, [, count]) => n + count, 0);
  const non2xx = responses - ok;
  const sent = responses + result.errors; // autocannon's errors include timeouts
  const cpuMs = (server.cpu.processPercent / 100) * wallMs;
  return {
    endpoint: options.endpoint,
    connections: options.connections,
    durationS: round1(wallMs / 1000),
    requests: sent,
    rps: round1(responses / (wallMs / 1000)),
    latency: {
      p50: round1(percentile(sorted, 50)),
      p95: round1(percentile(sorted, 95)),
      p99: round1(percentile(sorted, 99)),
      max: round1(sorted.at(-1) ?? 0),
      mean: round1(responses ? sorted.reduce((a, b) => a + b, 0) / responses : 0),
    },
    errorRate: sent === 0 ? 0 : Math.round(((non2xx + result.errors) / sent) * 10_000) / 10_000,
    errors: { non2xx, connection: result.errors - result.timeouts, timeouts: result.timeouts },
    statusCodes,
    server: {
      cpuPercent: server.cpu.processPercent,
      mainThreadCpuPercent: server.cpu.mainThreadPercent,
      workerThreadCpuPercent: server.cpu.workerThreadPercent,
      helperThreadsCpuPercent: server.cpu.helperThreadsPercent,
      cpuMsPerRequest: responses ? Math.round((cpuMs / responses) * 100) / 100 : 0,
      rssPeakBytes: server.rssPeakBytes,
      rssEndBytes: server.rssEndBytes,
    },
    probe: probeFigures,
    loadgenCpuPercent: round1(((loadgen.user + loadgen.system) / 1000 / wallMs) * 100),
    machineBusyPercent: server.machineBusyPercent,
  };
}
