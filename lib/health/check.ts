import { reuseFor } from "../cache/stale";
import { isStrictMode } from "../config";
import { errorMessage } from "../errors";
import { sourcesMissingVectorIndex } from "../index/vector-index";
import { FallbackRedisStore } from "../redis/fallback";
import { activeRunner, chooseRunner, getEmbeddedRunner } from "../runner";
import { jobStats } from "../runner/jobs";
import type { Runtime } from "../runtime";

export type PartStatus = "ok" | "degraded" | "down";

export interface PartHealth {
  status: PartStatus;
  /** A required part that is down makes the whole service unready (HTTP 503). */
  required: boolean;
  backend: string;
  embedded: boolean;
  latencyMs: number | null;
  detail?: string;
}

export interface HealthReport {
  status: PartStatus;
  mode: string;
  checkedAt: string;
  parts: Record<string, PartHealth>;
  /** Every outbound integration's mode (live, log-only, off): what this deployment really sends. */
  integrations: Record<string, { mode: string; configured: boolean }>;
}

const CHECK_TIMEOUT_MS = 3000;

async function probe(
  run: () => Promise<{ latencyMs: number; detail?: string; status?: PartStatus }>,
) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${CHECK_TIMEOUT_MS} ms`)),
      CHECK_TIMEOUT_MS,
    );
  });
  try {
    const result = await Promise.race([run(), timeout]);
    return {
      status: result.status ?? ("ok" as PartStatus),
      latencyMs: result.latencyMs,
      detail: result.detail,
    };
  } catch (error) {
    return { status: "down" as PartStatus, latencyMs: null, detail: errorMessage(error) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Readiness of every dependency, with which backend it is and how long it took to answer.
 * The probes run concurrently (the database's statements queue on its connection; Redis, the
 * archive and the Inngest dev server answer meanwhile).
 */
export async function checkHealth(runtime: Runtime): Promise<HealthReport> {
  const { config } = runtime;
  const strict = isStrictMode(config.mode);

  const [database, redis, archive, choice] = await Promise.all([
    probe(async () => {
      const { latencyMs } = await runtime.database.ping();
      const missing = await sourcesMissingVectorIndex(
        runtime.db,
        runtime.embedder,
        config.search.vectorIndexMinChunks,
      );
      return missing.length === 0
        ? { latencyMs, detail: runtime.database.location }
        : {
            latencyMs,
            status: "degraded" as const,
            detail: `${runtime.database.location}; ${missing.length} source(s) without a vector index for ${runtime.embedder.space} yet (searched exactly until their next sync builds it)`,
          };
    }),
    probe(async () => {
      const answer = await runtime.redis.ping();
      const degraded =
        runtime.redis instanceof FallbackRedisStore ? runtime.redis.degradation() : null;
      return degraded?.degradedSince
        ? {
            ...answer,
            status: "degraded" as const,
            detail: `Redis failed at ${new Date(degraded.degradedSince).toISOString()}; REDIS_REQUIRED=false, so the in-process fallback served meanwhile (breakers and limits per process only)`,
          }
        : answer;
    }),
    probe(async () => ({ ...(await runtime.archive.ping()), detail: runtime.archive.location })),
    activeRunner() ?? chooseRunner(config),
  ]);

  const workflowsProbe = probe(async () => {
    const started = performance.now();
    const runner = getEmbeddedRunner();
    if (choice.runner !== "embedded")
      return {
        latencyMs: Math.round(performance.now() - started),
        detail: `Inngest (${choice.reason})`,
      };
    const jobs = await jobStats(runtime.db);
    const state = runner?.status();
    const detail = [
      `embedded runner${runner ? ` in this process (${state?.jobsInFlight ?? 0} jobs running)` : " (in the app process)"}`,
      choice.reason,
      `jobs: ${["pending", "running", "failed"].map((k) => `${jobs[k] ?? 0} ${k}`).join(", ")}`,
    ].join("; ");
    return { latencyMs: Math.round(performance.now() - started), detail };
  });
  const breakersProbe = probe(async () => {
    const started = performance.now();
    const snapshots = await runtime.breakers.snapshots();
    const notClosed = snapshots.filter((b) => b.state !== "closed");
    return {
      latencyMs: Math.round(performance.now() - started),
      status: notClosed.length > 0 ? ("degraded" as const) : ("ok" as const),
      detail:
        notClosed.length > 0
          ? notClosed.map((b) => `${b.name} ${b.state} until ${b.retryAt}`).join("; ")
          : `all closed (${snapshots.map((b) => b.name).join(", ")})`,
    };
  });
  const [workflows, breakers] = await Promise.all([workflowsProbe, breakersProbe]);

  const inngestProblems: string[] = [];
  const inngestOff = !config.inngest.dev && !config.inngest.signingKey && !strict;
  if (!config.inngest.dev && !inngestOff) {
    if (!config.inngest.signingKey) inngestProblems.push("INNGEST_SIGNING_KEY missing");
    if (!config.inngest.eventKey) inngestProblems.push("INNGEST_EVENT_KEY missing");
  }
  const parts: Record<string, PartHealth> = {
    database: {
      ...database,
      required: true,
      backend: config.database.driver,
      embedded: config.database.driver === "pglite",
    },
    redis: {
      ...redis,
      required: config.redis.required,
      backend: runtime.redis.backend === "upstash" ? "upstash" : "in-process",
      embedded: runtime.redis.backend === "memory",
    },
    archive: {
      ...archive,
      required: strict,
      backend: runtime.archive.backend,
      embedded: runtime.archive.backend === "folder",
    },
    inngest: {
      status: inngestProblems.length > 0 ? "down" : "ok",
      required: strict,
      backend: config.inngest.dev ? "dev-server" : inngestOff ? "off" : "cloud",
      embedded: config.inngest.dev || inngestOff,
      latencyMs: null,
      detail:
        inngestProblems.length > 0
          ? inngestProblems.join("; ")
          : config.inngest.dev
            ? "dev mode (INNGEST_DEV): unsigned, events go to the local dev server"
            : inngestOff
              ? "off: no INNGEST_SIGNING_KEY and no INNGEST_DEV; /api/inngest answers 503 (workflows: see the workflows part)"
              : "signing key configured; requests are verified",
    },
    workflows: {
      ...workflows,
      required: false,
      backend: choice.runner === "embedded" ? "embedded-runner" : "inngest",
      embedded: choice.runner === "embedded",
    },
    embedding: {
      status: "ok",
      required: false,
      backend: runtime.embedder.provider,
      embedded: runtime.embedder.provider === "local",
      latencyMs: null,
      // EMBEDDING_MODE log-only or off: said here too (integrations has the mode).
      detail:
        runtime.embedder.mode && runtime.embedder.mode !== "live"
          ? `${runtime.embedder.space} (EMBEDDING_MODE=${runtime.embedder.mode}: no request sent)`
          : runtime.embedder.space,
    },
  };

  parts.breakers = {
    ...breakers,
    required: false,
    backend: runtime.redis.backend === "upstash" ? "upstash" : "in-process",
    embedded: runtime.redis.backend === "memory",
  };

  const values = Object.values(parts);
  const status: PartStatus = values.some((p) => p.required && p.status === "down")
    ? "down"
    : values.some((p) => p.status !== "ok")
      ? "degraded"
      : "ok";
  const integrations = Object.fromEntries(
    Object.entries(config.monitoring.integrations).map(([name, i]) => [
      name,
      { mode: i.mode, configured: i.configured },
    ]),
  );
  return { status, mode: config.mode, checkedAt: new Date().toISOString(), parts, integrations };
}

/** How long the console's overview reuses a health report (it says so beside the report). */
export const HEALTH_CACHE_MS = 5_000;

/**
 * checkHealth, reused for `maxAgeMs` in this instance: for pages that may be a few seconds
 * stale (the overview), not for readiness probes (/api/health checks every time). One check
 * at a time per runtime: callers arriving while it runs share it; a failed check is not kept.
 */
export async function cachedHealth(
  runtime: Runtime,
  maxAgeMs = HEALTH_CACHE_MS,
  now: () => number = Date.now,
): Promise<HealthReport> {
  return reuseFor(runtime, "health", maxAgeMs, () => checkHealth(runtime), now);
}
