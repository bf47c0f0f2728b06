import type { MachineInfo } from "../machine";

/** The endpoints `npm run load` drives. */
/** In the order they run: webhook phases last, so their runner backlog slows nothing else. */
export const ENDPOINTS = ["health", "search", "webhook"] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

/** One measured phase against one endpoint: a baseline, or one step of the breaking point. */
export interface PhaseFigures {
  endpoint: Endpoint;
  /** Concurrent connections, each sending its next request when the last one is answered. */
  connections: number;
  durationS: number;
  requests: number;
  /** Responses per second (any status), over the phase. */
  rps: number;
  /** Latency of every response (any status), ms. */
  latency: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** Non-2xx responses, connection errors and timeouts, over requests sent. */
  errorRate: number;
  errors: { non2xx: number; connection: number; timeouts: number };
  statusCodes: Record<string, number>;
  server: {
    /** Process CPU over the phase, % of one core (200 = both cores of this machine). */
    cpuPercent: number;
    /** The main thread: the event loop (routes, the embedded runner), % of one core. */
    mainThreadCpuPercent: number;
    /** The busiest Node worker thread — the embedded database (PGlite) — % of one core. */
    workerThreadCpuPercent: number;
    /** V8's GC and compiler threads and libuv's pool, summed, % of one core. */
    helperThreadsCpuPercent: number;
    /** Server CPU time per response, ms. */
    cpuMsPerRequest: number;
    rssPeakBytes: number;
    rssEndBytes: number;
  };
  /** GET /api/health?probe=live every 200 ms on its own connection: the event-loop proxy. */
  probe: { samples: number; p50: number; p99: number; max: number; failed: number };
  /** The load generator's own CPU, % of one core (it shares the machine). */
  loadgenCpuPercent: number;
  /** The whole machine's cores, % busy (0-100), other processes included: it is shared. */
  machineBusyPercent: number;
  /** Webhook phases: runs still queued or running in the app's runner after the drain wait. */
  backlog?: { jobsLeft: number; drainMs: number };
}

export interface BreakingPoint {
  endpoint: Endpoint;
  steps: PhaseFigures[];
  /** The highest concurrency that met both criteria; null when the first step failed. */
  lastGood: PhaseFigures | null;
  firstBad: PhaseFigures | null;
  /** Which criterion the first bad step broke, in words. */
  reason: string | null;
  /** What saturated first (CPU, event loop, database thread, memory), with the evidence. */
  saturated: string | null;
}

export interface WebhookIntegrity {
  /** Deliveries answered with a 2xx. */
  accepted: number;
  /** Of those, rows found in webhook_deliveries afterwards. */
  stored: number;
  /** Sync requests the 2xx answers reported queued (pushes to a tracked branch). */
  queued: number;
  /** Of those, rows found in outbox_events afterwards. */
  inOutbox: number;
  /** accepted − stored + queued − inOutbox: must be 0. */
  lost: number;
}

export interface LoadResult {
  kind: "ballast-load";
  version: 1;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  machine: MachineInfo & { loadAverageAtEnd: [number, number, number] };
  environment: {
    next: string;
    pglite: string;
    autocannon: string;
    backends: Record<string, string>;
    server: string;
  };
  options: {
    quick: boolean;
    files: number;
    baselineSeconds: number;
    stepSeconds: number;
    connections: number;
    maxConnections: number;
    trackedShare: number;
    trackedRepositories: number;
    breaking: boolean;
  };
  corpus: { files: number; chunks: number; commit: string };
  idleProbeMs: { p50: number; p99: number };
  baseline: Partial<Record<Endpoint, PhaseFigures>>;
  breaking: Partial<Record<Endpoint, BreakingPoint>>;
  webhookIntegrity: WebhookIntegrity | null;
}
