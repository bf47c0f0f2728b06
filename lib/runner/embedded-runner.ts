import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { Cron } from "croner";
import type { Database } from "../../db/client";
import { errorMessage } from "../errors";
import type { Logger } from "../log/logger";
import { dispatchOutbox, enqueueEvents, type OutboxEvent } from "../outbox/outbox";
import type { PipelineDeps } from "../pipeline/deps";
import { concurrencyKeyOf, cronOf } from "../workflows/define";
import {
  executeWorkflow,
  fullJitter,
  matches,
  runOnFailure,
  runStepWithRetries,
  type StepBackoff,
} from "../workflows/execute";
import { functionFailedEvent } from "../workflows/function-failed";
import { abortableSleep } from "../workflows/inline";
import type {
  StepPort,
  WaitOptions,
  Workflow,
  WorkflowEnvironment,
  WorkflowEvent,
} from "../workflows/types";
import {
  finishJob,
  insertJobs,
  type JobRecord,
  jobsFor,
  leaseDueJobs,
  nextDueAt,
  renewLeases,
} from "./jobs";
import { KeyedSemaphore } from "./semaphore";

/**
 * The embedded workflow runner: on the embedded defaults (no Inngest server reachable) the
 * app runs Ballast's workflows itself, with Inngest's rules where they matter — an event
 * triggers each workflow that listens for it once (jobs deduplicated by event id), steps are
 * retried with backoff honouring Retry-After, concurrency limits hold per key around each
 * step, onFailure runs after a final failure and then `inngest/function.failed` is sent (so
 * error-recovery records it, as under Inngest), and every cron fires on its schedule. Jobs are
 * rows (workflow_jobs): a job whose process died is leased again when its lease expires and
 * re-run from its first step, which every workflow allows (each step is idempotent).
 *
 * It is small on purpose: one process runs it. Inngest stays the engine wherever it exists.
 */
export interface EmbeddedRunnerOptions {
  db: Database;
  deps: () => Promise<PipelineDeps>;
  log: Logger;
  workflows: Workflow[];
  /** Fire crons on their schedules (default true). Tests fire them with fireCron. */
  crons?: boolean;
  /** How often to look for jobs written by other processes (the CLI). Default 2 s. */
  pollMs?: number;
  /** A running job's lease; renewed at a third of it. Default 60 s. */
  leaseMs?: number;
  /** Jobs executing (or waiting) at once. Default 32. */
  maxJobs?: number;
  backoff?: StepBackoff;
  /** Function-level retries after an error outside any step (as Inngest retries functions). */
  functionRetryDelayMs?: (attempt: number) => number;
  now?: () => number;
}

interface Waiter {
  jobId: string;
  options: WaitOptions;
  since: number;
  resolve: (event: WorkflowEvent | null) => void;
}

export interface RunnerStatus {
  running: boolean;
  instance: string;
  jobsInFlight: number;
  waiting: number;
  steps: Record<string, number>;
  crons: { workflow: string; schedule: string; nextAt: string | null }[];
  startedAt: string | null;
}

const RECENT_EVENTS_MS = 10 * 60_000;

export class EmbeddedRunner {
  readonly instance = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly opts: Required<
    Pick<EmbeddedRunnerOptions, "pollMs" | "leaseMs" | "maxJobs" | "crons">
  > &
    EmbeddedRunnerOptions;
  private readonly semaphore = new KeyedSemaphore();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly waiters = new Set<Waiter>();
  private recent: { at: number; event: WorkflowEvent }[] = [];
  private readonly cronTimers = new Map<string, { timer: NodeJS.Timeout; nextAt: Date | null }>();
  private abort = new AbortController();
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private startedAt: Date | null = null;
  /** True while jobs are being leased (leased in the database, not yet in flight here). */
  private leasing = false;
  /** The first dispatch of what waited in the outbox while no runner was up. */
  private booted: Promise<unknown> = Promise.resolve();
  private readonly backoff: StepBackoff;
  readonly env: WorkflowEnvironment;

  constructor(options: EmbeddedRunnerOptions) {
    this.opts = { pollMs: 2000, leaseMs: 60_000, maxJobs: 32, crons: true, ...options };
    this.backoff = options.backoff ?? fullJitter(1000, 60_000);
    this.env = {
      deps: options.deps,
      log: options.log,
      driver: "embedded",
      dispatch: (events) => this.accept(events),
    };
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  get running(): boolean {
    return this.loop !== undefined;
  }

  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.startedAt = new Date(this.now());
    this.loop = this.run();
    this.leaseTimer = setInterval(() => void this.renew(), Math.max(1000, this.opts.leaseMs / 3));
    this.leaseTimer.unref();
    if (this.opts.crons) for (const wf of this.opts.workflows) this.scheduleCron(wf);
    this.opts.log.info({ runner: this.instance }, "embedded workflow runner started");
  }

  /** Stops taking jobs and interrupts the ones running (they are leased again later). */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.abort.abort(new Error("the embedded runner is stopping"));
    for (const { timer } of this.cronTimers.values()) clearTimeout(timer);
    this.cronTimers.clear();
    clearInterval(this.leaseTimer);
    for (const waiter of this.waiters) waiter.resolve(null);
    this.waiters.clear();
    this.wake?.();
    await this.loop;
    await Promise.allSettled(this.inFlight.values());
    this.loop = undefined;
  }

  /**
   * Takes events (the outbox's sender in embedded mode): a job for each workflow each event
   * triggers, delivery to any step waiting for it, then the loop is woken. Idempotent per
   * event id.
   */
  async accept(events: OutboxEvent[] | WorkflowEvent[]): Promise<void> {
    const identified = (events as WorkflowEvent[]).map((e) => ({ ...e, id: e.id ?? randomUUID() }));
    await insertJobs(this.opts.db, jobsFor(this.opts.workflows, identified, this.now()));
    for (const event of identified) this.deliver(event);
    this.wake?.();
  }

  /** Runs a cron workflow for a given tick now (what its schedule does; tests inject the time). */
  async fireCron(workflowId: string, at: Date): Promise<void> {
    const wf = this.opts.workflows.find((w) => w.id === workflowId);
    const schedule = wf && cronOf(wf);
    if (!wf || !schedule) throw new Error(`${workflowId} is not a scheduled workflow`);
    const tick = new Date(at);
    tick.setUTCSeconds(0, 0);
    const eventId = `cron:${wf.id}:${tick.toISOString()}`;
    await insertJobs(this.opts.db, [
      {
        eventId,
        eventName: "inngest/scheduled.timer",
        workflow: wf.id,
        data: { cron: schedule },
        eventAt: tick,
        runAfter: new Date(this.now()),
        correlationId: eventId,
      },
    ]);
    this.wake?.();
  }

  /** Resolves when no job is in flight and none is due (tests, shutdown). */
  async idle(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await this.booted;
    for (;;) {
      if (this.inFlight.size === 0 && !this.leasing) {
        const due = await nextDueAt(this.opts.db);
        if ((!due || due.getTime() > this.now()) && this.inFlight.size === 0 && !this.leasing)
          return;
      }
      if (Date.now() > deadline) throw new Error("the embedded runner did not become idle");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  status(): RunnerStatus {
    return {
      running: this.running,
      instance: this.instance,
      jobsInFlight: this.inFlight.size,
      waiting: this.waiters.size,
      steps: this.semaphore.snapshot(),
      crons: [...this.cronTimers.entries()].map(([workflow, { nextAt }]) => ({
        workflow,
        schedule: cronOf(this.opts.workflows.find((w) => w.id === workflow) as Workflow) ?? "",
        nextAt: nextAt?.toISOString() ?? null,
      })),
      startedAt: this.startedAt?.toISOString() ?? null,
    };
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    // Events recorded while no runner was up (the CLI, a restart) are taken first.
    this.booted = dispatchOutbox(this.opts.db, (events) => this.accept(events), {
      limit: 1000,
    }).catch((error: unknown) => this.opts.log.warn({ err: error }, "outbox dispatch failed"));
    await this.booted;
    while (!signal.aborted) {
      try {
        const free = this.opts.maxJobs - this.inFlight.size;
        this.leasing = true;
        const jobs = await leaseDueJobs(this.opts.db, {
          runner: this.instance,
          limit: free,
          leaseMs: this.opts.leaseMs,
          now: new Date(this.now()),
        }).finally(() => {
          this.leasing = false;
        });
        for (const job of jobs) {
          const running = this.execute(job).finally(() => {
            this.inFlight.delete(job.id);
            this.wake?.();
          });
          this.inFlight.set(job.id, running);
        }
        if (jobs.length > 0 && jobs.length === free) continue;
      } catch (error) {
        if (signal.aborted) break;
        this.opts.log.warn({ err: error }, "embedded runner could not lease jobs; retrying");
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.opts.pollMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async renew(): Promise<void> {
    const ids = [...this.inFlight.keys()];
    if (ids.length === 0) return;
    try {
      const held = await renewLeases(
        this.opts.db,
        this.instance,
        ids,
        new Date(this.now() + this.opts.leaseMs),
      );
      for (const id of ids)
        if (!held.has(id))
          this.opts.log.warn(
            { jobId: id },
            "lost the lease of a running job (another runner took it)",
          );
    } catch (error) {
      this.opts.log.warn({ err: error }, "could not renew job leases");
    }
  }

  private deliver(event: WorkflowEvent): void {
    const at = this.now();
    this.recent.push({ at, event });
    this.recent = this.recent.filter((r) => at - r.at < RECENT_EVENTS_MS);
    for (const waiter of [...this.waiters])
      if (matches(event, waiter.options.event, waiter.options.match)) {
        this.waiters.delete(waiter);
        waiter.resolve(event);
      }
  }

  private async execute(job: JobRecord): Promise<void> {
    const wf = this.opts.workflows.find((w) => w.id === job.workflow);
    const { db, log } = this.opts;
    if (!wf) {
      await finishJob(db, job.id, this.instance, {
        status: "failed",
        error: `no workflow ${job.workflow} in this version of Ballast`,
      });
      return;
    }
    const event: WorkflowEvent<unknown> = {
      id: job.eventId,
      name: job.eventName,
      data: job.data,
      ts: job.eventAt.getTime(),
    };
    const signal = this.abort.signal;
    let stepStartedAt = this.now();
    const step: StepPort = {
      run: async (id, work) => {
        stepStartedAt = this.now();
        return runStepWithRetries(
          wf,
          id,
          async () => {
            const releases = await Promise.all(
              wf.concurrency.map((c, i) =>
                this.semaphore.acquire(
                  `${wf.id}#${i}:${concurrencyKeyOf(job.data, c.key)}`,
                  c.limit,
                ),
              ),
            );
            try {
              return await work();
            } finally {
              for (const release of releases) release();
            }
          },
          {
            backoff: this.backoff,
            sleep: (ms) => abortableSleep(ms, signal),
            signal,
            onAttempt: (attempt) => {
              if (attempt.error)
                log.warn(
                  {
                    jobId: job.id,
                    workflow: wf.id,
                    step: id,
                    attempt: attempt.attempt,
                    err: attempt.error,
                  },
                  "step failed",
                );
            },
          },
        );
      },
      sleep: (_id, ms) => abortableSleep(ms, signal),
      sendEvents: async (_id, events) => {
        const stored: OutboxEvent[] = events.map((e) => ({
          id: e.id ?? randomUUID(),
          name: e.name,
          data: e.data,
        }));
        await enqueueEvents(db, stored);
        const ts = new Map(stored.map((s, i) => [s.id, events[i]?.ts]));
        await dispatchOutbox(
          db,
          (batch) => this.accept(batch.map((e) => ({ ...e, ts: ts.get(e.id) }))),
          { ids: stored.map((s) => s.id) },
        );
      },
      waitForEvent: (_id, options) => {
        const since = stepStartedAt;
        const early = this.recent.find(
          (r) => r.at >= since && matches(r.event, options.event, options.match),
        );
        if (early) return Promise.resolve(early.event);
        return new Promise((resolve) => {
          const waiter: Waiter = {
            jobId: job.id,
            options,
            since,
            resolve: (value) => {
              clearTimeout(timer);
              resolve(value);
            },
          };
          const timer = setTimeout(() => {
            this.waiters.delete(waiter);
            resolve(null);
          }, options.timeoutMs);
          this.waiters.add(waiter);
        });
      },
    };

    const finalAttempt = job.attempts > wf.retries;
    try {
      if (job.attempts > wf.retries + 1) {
        // It kept dying mid-run (a crash loop): end it the way a final failure does.
        const error = new Error(`gave up after ${job.attempts - 1} interrupted attempts`);
        await runOnFailure(wf, event, error, step, this.env, signal, {
          executionId: `${job.id}:${job.attempts}`,
        });
        await finishJob(db, job.id, this.instance, { status: "failed", error: error.message });
        await this.reportFailure(wf, event, error, job.id);
        return;
      }
      const outcome = await executeWorkflow(wf, event, step, this.env, {
        signal,
        canRetry: !finalAttempt,
        trace: { executionId: `${job.id}:${job.attempts}` },
      });
      if (outcome.ok) {
        await finishJob(db, job.id, this.instance, {
          status: "succeeded",
          result: summarise(outcome.result),
        });
      } else if (outcome.retry) {
        const delay =
          this.opts.functionRetryDelayMs?.(job.attempts) ?? this.backoff.delayMs(job.attempts);
        await finishJob(db, job.id, this.instance, {
          status: "pending",
          runAfter: new Date(this.now() + delay),
          error: errorMessage(outcome.error),
        });
      } else {
        await finishJob(db, job.id, this.instance, {
          status: "failed",
          error: errorMessage(outcome.error),
        });
        await this.reportFailure(wf, event, outcome.error, job.id);
      }
    } catch (error) {
      if (signal.aborted) {
        log.info(
          { jobId: job.id, workflow: wf.id },
          "job interrupted by shutdown; it runs again later",
        );
        await finishJob(db, job.id, this.instance, {
          status: "pending",
          runAfter: new Date(this.now()),
          error: "interrupted by shutdown",
        }).catch(() => {});
        return;
      }
      log.error({ jobId: job.id, workflow: wf.id, err: error }, "embedded runner job crashed");
      await finishJob(db, job.id, this.instance, {
        status: "pending",
        runAfter: new Date(this.now() + this.backoff.delayMs(job.attempts)),
        error: errorMessage(error),
      }).catch(() => {});
    }
  }

  /**
   * A job failed for good: what Inngest does next, send `inngest/function.failed` (typed as
   * error-recovery reads it), so the failure reaches the dead-letter queue and the alert
   * records on the embedded defaults too. Its id is the job's, so a repeat makes no new job.
   */
  private async reportFailure(
    wf: Workflow,
    event: WorkflowEvent<unknown>,
    error: unknown,
    jobId: string,
  ): Promise<void> {
    try {
      const appId = (await this.opts.deps()).appId ?? "ballast";
      const failed = functionFailedEvent(wf, event, error, { appId, runId: jobId });
      if (failed) await this.accept([failed]);
    } catch (reportError) {
      this.opts.log.error(
        { jobId, workflow: wf.id, err: reportError },
        "could not report the failed job to error-recovery",
      );
    }
  }

  private scheduleCron(wf: Workflow): void {
    const schedule = cronOf(wf);
    if (!schedule) return;
    const cron = new Cron(schedule, { paused: true, timezone: "UTC" });
    const arm = () => {
      const nextAt = cron.nextRun(new Date(this.now()));
      if (!nextAt) return;
      const timer = setTimeout(
        () => {
          if (this.abort.signal.aborted) return;
          void this.fireCron(wf.id, nextAt)
            .catch((error: unknown) =>
              this.opts.log.warn({ err: error, workflow: wf.id }, "cron tick failed"),
            )
            .finally(arm);
        },
        Math.max(0, nextAt.getTime() - this.now()),
      );
      timer.unref();
      this.cronTimers.set(wf.id, { timer, nextAt });
    };
    arm();
  }
}

/** A job's stored result: small (summaries, counts), never file contents. */
function summarise(result: unknown): unknown {
  if (result === undefined) return null;
  const text = JSON.stringify(result);
  return text.length <= 8_000 ? result : { truncated: true, bytes: text.length };
}
