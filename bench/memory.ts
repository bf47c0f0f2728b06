import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import { Worker } from "node:worker_threads";

/**
 * Peak memory of a phase. PGlite runs in the main thread, and a long statement (an HNSW index
 * build) blocks the event loop for a minute or more, so a main-thread timer would miss the
 * peak. RSS is therefore sampled every 100 ms from a worker thread (RSS is process-wide), and
 * also from the main thread (whose gaps show the event-loop stalls), and the process's
 * lifetime peak `process.resourceUsage().maxRSS` is recorded at both ends of the phase.
 */
export interface MemoryReport {
  /** Highest RSS sampled during the phase (worker thread or main thread), bytes. */
  peakRssBytes: number;
  /** Highest RSS sampled by the worker thread (keeps sampling while the main thread is blocked). */
  peakWorkerSampledRssBytes: number;
  /** Highest RSS sampled by the main thread's timer. */
  peakMainSampledRssBytes: number;
  /** Process-lifetime peak RSS at the end of the phase, bytes. */
  maxRssBytes: number;
  /** Process-lifetime peak RSS when the phase started (the phase set a new peak if maxRss > this). */
  maxRssAtStartBytes: number;
  rssAtStartBytes: number;
  rssAtEndBytes: number;
  workerSamples: number;
  mainSamples: number;
  /** Longest interval between two main-thread samples: the longest event-loop stall. */
  longestStallMs: number;
  /**
   * The longest event-loop stall: the larger of monitorEventLoopDelay's max and the longest
   * gap between main-thread samples less their interval. The histogram alone understates a
   * long synchronous block: a 33.6 s HNSW build on this thread read as 1,627 ms.
   */
  stallMs: number;
  /** perf_hooks.monitorEventLoopDelay over the phase (10 ms resolution): max and p99 delay. */
  eventLoopDelayMaxMs: number;
  eventLoopDelayP99Ms: number;
}

const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const state = new Int32Array(workerData.buffer);
const tick = () => {
  const kib = Math.round(process.memoryUsage.rss() / 1024);
  if (kib > Atomics.load(state, 0)) Atomics.store(state, 0, kib);
  Atomics.add(state, 1, 1);
  setTimeout(tick, workerData.intervalMs);
};
tick();
`;

export class MemorySampler {
  private timer: NodeJS.Timeout | undefined;
  private worker: Worker | undefined;
  private readonly shared = new Int32Array(new SharedArrayBuffer(8));
  private peak = 0;
  private samples = 0;
  private last = 0;
  private longestGap = 0;
  private delay: IntervalHistogram | undefined;
  private readonly rssAtStart: number;
  private readonly maxRssAtStart: number;

  constructor(private readonly intervalMs = 100) {
    this.rssAtStart = process.memoryUsage.rss();
    this.maxRssAtStart = process.resourceUsage().maxRSS * 1024;
  }

  async start(): Promise<this> {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { buffer: this.shared.buffer, intervalMs: this.intervalMs },
    });
    this.worker.unref();
    this.delay = monitorEventLoopDelay({ resolution: 10 });
    this.delay.enable();
    // Wait for the first sample so the phase is covered from its start.
    for (let i = 0; i < 200 && Atomics.load(this.shared, 1) === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  private sample(): void {
    const now = performance.now();
    if (this.samples > 0) this.longestGap = Math.max(this.longestGap, now - this.last);
    this.last = now;
    this.samples++;
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }

  async stop(): Promise<MemoryReport> {
    this.sample();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const workerPeak = Atomics.load(this.shared, 0) * 1024;
    const workerSamples = Atomics.load(this.shared, 1);
    this.delay?.disable();
    const delayMax = this.delay ? this.delay.max / 1e6 : 0;
    const delayP99 = this.delay && this.delay.count > 0 ? this.delay.percentile(99) / 1e6 : 0;
    this.delay = undefined;
    await this.worker?.terminate();
    this.worker = undefined;
    return {
      peakRssBytes: Math.max(workerPeak, this.peak),
      peakWorkerSampledRssBytes: workerPeak,
      peakMainSampledRssBytes: this.peak,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      maxRssAtStartBytes: this.maxRssAtStart,
      rssAtStartBytes: this.rssAtStart,
      rssAtEndBytes: process.memoryUsage.rss(),
      workerSamples,
      mainSamples: this.samples,
      longestStallMs: Math.round(this.longestGap),
      eventLoopDelayMaxMs: Math.round(delayMax),
      stallMs: Math.round(Math.max(delayMax, this.longestGap - this.intervalMs)),
      eventLoopDelayP99Ms: Math.round(delayP99),
    };
  }
}
