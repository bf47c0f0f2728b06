import path from "node:path";
import ipaddr from "ipaddr.js";
import { z } from "zod";
import { PROVIDER_BUDGETS, parseRateLimitOverrides } from "../limits/policies";
import { parseDuration, RULE_IDS, type RuleSettings, type Severity } from "../monitoring/rules";
import { BREAKER_DEFAULTS, parseBreakerOverrides } from "../resilience/breaker";
import type { EnvSource } from "./env";

import { MODES, type Mode } from "./modes";

export { MODES, type Mode };

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const EMBEDDING_PROVIDERS = ["local", "openai", "cohere"] as const;
export type EmbeddingProviderName = (typeof EMBEDDING_PROVIDERS)[number];

/** pgvector's HNSW index accepts `vector` columns of at most 2,000 dimensions. */
export const MAX_INDEXED_DIMENSIONS = 2000;

const EMBEDDING_DEFAULTS: Record<EmbeddingProviderName, { model: string; dimensions: number }> = {
  local: { model: "ballast-hash-v1", dimensions: 256 },
  openai: { model: "text-embedding-3-small", dimensions: 1536 },
  cohere: { model: "embed-v4.0", dimensions: 1024 },
};

export interface Config {
  mode: Mode;
  /** Where the embedded defaults keep their state (PGlite, archive folder). */
  dataDir: string;
  logLevel: LogLevel;
  database: {
    driver: "pglite" | "neon" | "pg";
    url: string | undefined;
    /** PGlite data directory, or `memory://` for an in-memory database. */
    pgliteDir: string;
    /** For @neondatabase/serverless against a non-Neon Postgres: a WebSocket-to-TCP proxy. */
    neonWsProxy: string | undefined;
  };
  redis: {
    backend: "upstash" | "memory";
    required: boolean;
    url: string | undefined;
    token: string | undefined;
  };
  archive: {
    backend: "s3" | "folder";
    dir: string;
    s3:
      | {
          bucket: string;
          region: string;
          endpoint: string | undefined;
          forcePathStyle: boolean;
          accessKeyId: string | undefined;
          secretAccessKey: string | undefined;
          prefix: string;
        }
      | undefined;
  };
  inngest: {
    appId: string;
    /** Dev mode (unsigned requests, the local dev server): only when asked for and no signing key is set. */
    dev: boolean;
    /** Dev server URL when INNGEST_DEV is a URL. */
    devServerUrl: string | undefined;
    eventKey: string | undefined;
    signingKey: string | undefined;
    signingKeyFallback: string | undefined;
    baseUrl: string | undefined;
    /**
     * Who runs the workflows: Inngest (Cloud, self-hosted or the dev server), or the app's
     * embedded runner (development/test only). `auto` decides at start-up.
     */
    runner: "auto" | "inngest" | "embedded";
    /** The app's public origin for the serve endpoint (serve()'s serveOrigin). */
    serveOrigin: string | undefined;
  };
  /** Who may reach what: local source roots, outbound URL policy, trusted proxies. */
  security: SecurityConfig;
  github: {
    apiUrl: string;
    token: string | undefined;
    appId: string | undefined;
    privateKey: string | undefined;
    webhookSecret: string | undefined;
  };
  embedding: {
    provider: EmbeddingProviderName;
    model: string;
    dimensions: number;
    batchSize: number;
    /** USD per million input tokens; undefined means the provider's list price. */
    costPerMillionTokens: number | undefined;
    /**
     * The simulation boundary of a remote provider (EMBEDDING_MODE): live sends, log-only
     * records and answers locally, off refuses. The local embedder is always live.
     */
    mode: IntegrationMode;
    openai: { apiKey: string | undefined; baseUrl: string };
    cohere: { apiKey: string | undefined; baseUrl: string };
  };
  chunking: { size: number; overlap: number };
  sync: { batchSize: number; maxFileBytes: number; workDir: string };
  webhooks: { maxBodyBytes: number };
  search: {
    efSearch: number;
    /** Chunks of a source (per embedding space) from which it gets a vector index (lib/index/vector-index.ts). */
    vectorIndexMinChunks: number;
    /** Overrides of the ranking defaults (lib/index/search.ts); unset keys keep the defaults. */
    ranking: { lowWeightPaths?: string[]; lowWeight?: number; vectorWeight?: number };
  };
  /** The operator's web console: sessions and GitHub sign-in. */
  console: ConsoleConfig;
  /** Error recovery: circuit breakers, rate limits, provider budgets, the dead-letter queue. */
  resilience: ResilienceConfig;
  /** Metrics, alert rules, notification channels, guardrails and outbound modes. */
  monitoring: MonitoringConfig;
  /** Every secret value in this configuration, for log and response scrubbing. */
  secrets: string[];
  /** Trace envelopes: recording, retention, archives, OTLP export. */
  traces: TracesConfig;
  /** The cleanup workflow: retention of operational rows, stuck runs, operator approval. */
  cleanup: CleanupConfig;
  /** The parity ledger (lib/ledger): recording and retention. */
  ledger: { enabled: boolean; retentionDays: number };
  /** Replay (lib/replay): the release gate and the latency tolerance of its diff. */
  replay: { minPassRate: number; latencyTolerance: number; latencyFloorMs: number };
}

export interface TracesConfig {
  enabled: boolean;
  /** Days a trace row stays in the database before it is archived and deleted. */
  retentionDays: number;
  /** Days an archive (traces, outbox, webhook deliveries) stays in the archive store. */
  archiveRetentionDays: number;
  otlp: { endpoint: string; headers: Record<string, string> } | undefined;
}

export interface CleanupConfig {
  /** A run still `running` with no heartbeat for this long is failed with a reason. */
  stuckRunMinutes: number;
  /** Sent (or dead) outbox events are archived and deleted after this many days. */
  outboxRetentionDays: number;
  /** Webhook deliveries are archived and deleted after this many days. */
  webhookRetentionDays: number;
  /** Ended dead-letter entries (resolved, discarded) are archived and deleted after this many days. */
  deadLetterRetentionDays: number;
  /** Approval is needed above this many rows deleted without an archive. */
  approvalRows: number;
  /** …or above this fraction of one source's chunks. */
  approvalFraction: number;
  /** How long a cleanup waits for an operator's decision before it aborts. */
  approvalTimeoutHours: number;
}

export interface ResilienceConfig {
  breaker: {
    failureThreshold: number;
    failureRate: number;
    windowSize: number;
    openMs: number;
    probeTimeoutMs: number;
  };
  /** Per-dependency breaker settings (BREAKER_OVERRIDES). */
  breakerOverrides: Record<string, Partial<ResilienceConfig["breaker"]>>;
  /** Inbound rate-limit overrides by policy name (RATE_LIMIT_OVERRIDES). */
  inbound: Record<string, { limit: number; windowMs: number }>;
  budgets: {
    openai: { requestsPerMinute: number; tokensPerMinute: number };
    cohere: { requestsPerMinute: number; tokensPerMinute: number };
  };
  dlq: { maxRecoveries: number; alertDepth: number };
}

export interface SecurityConfig {
  /** Folders under which the HTTP API may add local sources (realpaths resolved at check time). */
  sourceLocalRoots: string[];
  /** Outbound fetches of user-supplied URLs: hosts or CIDRs allowed even when private. */
  outboundAllowHosts: string[];
  /** Allow outbound fetches to private, loopback and link-local addresses (never in production). */
  outboundAllowPrivate: boolean;
  /** Only https for user-supplied URLs (staging/production). */
  outboundHttpsOnly: boolean;
  /**
   * Whose forwarding headers to believe: "vercel" (Vercel's own headers), or the addresses /
   * CIDRs of the reverse proxies in front of the app (empty: the socket peer only).
   */
  trustedProxies: "vercel" | string[];
}

/** One allow-list entry: a GitHub user, every member of an organisation, or of one team. */
export type GitHubSubject =
  | { type: "user"; login: string }
  | { type: "org"; org: string }
  | { type: "team"; org: string; team: string };

export interface ConsoleConfig {
  /** How long a sign-in lasts. */
  sessionTtlMs: number;
  /** Secure cookies (every mode but development, which is served over plain http). */
  secureCookies: boolean;
  /** The console's public origin; undefined → each request's own origin. */
  origin: string | undefined;
  /** GitHub sign-in, when a client id and secret are set. */
  github:
    | {
        clientId: string;
        clientSecret: string;
        /** Where the authorize and access_token endpoints live (https://github.com). */
        oauthUrl: string;
        /** The allow-list: each role's subjects; the highest role that matches wins. */
        roles: { admin: GitHubSubject[]; operator: GitHubSubject[]; viewer: GitHubSubject[] };
      }
    | undefined;
}

/** What an outbound integration does: send for real, record without sending, or nothing. */
export type IntegrationMode = "live" | "log-only" | "off";
export const INTEGRATION_MODES = ["live", "log-only", "off"] as const;

export type ChannelConfig =
  | { id: "slack"; kind: "slack"; url: string; mode: IntegrationMode }
  | { id: "webhook"; kind: "webhook"; url: string; secret: string; mode: IntegrationMode }
  | {
      id: "email";
      kind: "email";
      smtpUrl: string;
      from: string;
      to: string[];
      mode: IntegrationMode;
    };

export interface WorkingHours {
  /** Minutes after local midnight: the window is [start, end). */
  startMinute: number;
  endMinute: number;
  /** Days of the week (0 = Sunday) the window is open. */
  days: number[];
  timeZone: string;
}

export interface MonitoringConfig {
  /** Bearer token for GET /api/metrics (a scraper); viewer keys work too. */
  metricsToken: string | undefined;
  /** The configured notification channels, each with its mode. */
  channels: ChannelConfig[];
  /** Every outbound integration's mode (channels, embedding provider), for health and validate-env. */
  integrations: Record<string, { mode: IntegrationMode; configured: boolean; detail: string }>;
  limits: { hourly: number; daily: number; perDomainHourly: number };
  /** Non-critical notifications wait for this window; unset: any time. */
  workingHours: WorkingHours | undefined;
  /** A channel with more recipients than this needs an admin's approval. */
  approvalRecipients: number;
  ruleOverrides: Record<string, Partial<RuleSettings>>;
  dailyBudgetUsd: number | undefined;
  /** The sync SLO: this many milliseconds per 1,000 documents (at least this long for any run). */
  syncSloMsPer1000Docs: number;
}

export interface ConfigProblem {
  variable: string;
  message: string;
}

export class ConfigError extends Error {
  readonly code = "config_invalid";
  constructor(
    readonly mode: Mode | undefined,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `Invalid Ballast configuration${mode ? ` for mode ${mode}` : ""}:\n${problems
        .map((p) => `  - ${p.variable}: ${p.message}`)
        .join("\n")}`,
    );
    this.name = "ConfigError";
  }
}

/** Every variable Ballast reads, with its meaning; `.env.example` and the README follow this list. */
export const VARIABLES = {
  BALLAST_ENV:
    "Mode: development | test | staging | production. Unset means development (or VERCEL_ENV's mapping).",
  VERCEL_ENV:
    "Set by Vercel; production → production, preview → staging, development → development, when BALLAST_ENV is unset.",
  BALLAST_DATA_DIR:
    "Folder for the embedded defaults (PGlite data, archive folder, work trees). Default .data",
  LOG_LEVEL: "fatal | error | warn | info | debug | trace | silent. Default info (warn in test).",
  DATABASE_URL:
    "Postgres URL. Unset → embedded PGlite under BALLAST_DATA_DIR. A *.neon.tech host → @neondatabase/serverless; any other → node-postgres. Required in staging/production.",
  DATABASE_DRIVER: "Override the driver chosen from DATABASE_URL: pglite | neon | pg.",
  PGLITE_DIR: "PGlite data directory (default <data dir>/pglite); memory:// keeps it in memory.",
  NEON_WS_PROXY:
    "WebSocket-to-TCP proxy for the Neon driver against a non-Neon Postgres (host:port/path).",
  REDIS_REQUIRED:
    "true → refuse to start without Upstash Redis. Default false in development/test, true in staging/production.",
  UPSTASH_REDIS_REST_URL: "Upstash Redis REST URL. Required in staging/production.",
  UPSTASH_REDIS_REST_TOKEN: "Upstash Redis REST token (secret).",
  S3_BUCKET:
    "Archive bucket. Unset → archive folder under BALLAST_DATA_DIR. Required in staging/production.",
  S3_REGION: "Bucket region. Default us-east-1 (R2: auto).",
  S3_ENDPOINT: "S3-compatible endpoint (R2, MinIO). Unset → AWS.",
  S3_FORCE_PATH_STYLE: "true for path-style addressing (MinIO and most S3-compatible servers).",
  S3_ACCESS_KEY_ID: "Access key id; unset → the AWS SDK's default credential chain.",
  S3_SECRET_ACCESS_KEY: "Secret access key (secret). Set together with S3_ACCESS_KEY_ID.",
  S3_PREFIX: "Key prefix inside the bucket. Default ballast/<mode>/",
  ARCHIVE_DIR: "Archive folder for the embedded default. Default <data dir>/archive",
  INNGEST_APP_ID: "Inngest app id. Default ballast",
  INNGEST_DEV:
    "1 or the dev server URL: use the Inngest dev server (unsigned requests). Off unless set; only allowed in development/test and without INNGEST_SIGNING_KEY.",
  INNGEST_EVENT_KEY: "Inngest event key (secret). Required in staging/production.",
  INNGEST_SIGNING_KEY:
    "Inngest signing key (secret); requests to /api/inngest are verified with it. Required in staging/production.",
  INNGEST_SIGNING_KEY_FALLBACK: "Previous signing key during rotation (secret).",
  INNGEST_BASE_URL: "Self-hosted Inngest base URL.",
  INNGEST_RUNNER:
    "auto | inngest | embedded. Who runs the workflows: Inngest, or the app's embedded runner (development/test only). auto: Inngest in staging/production; in development the dev server when INNGEST_DEV names one that answers, or an event key is set, else the embedded runner. Default auto.",
  INNGEST_SERVE_ORIGIN:
    "The app's public origin, e.g. https://ballast.example.com: Inngest is told to call <origin>/api/inngest whatever the request's Host header says. Set it in production (https).",
  GITHUB_API_URL: "GitHub REST API base URL. Default https://api.github.com",
  GITHUB_TOKEN: "GitHub token for github sources (secret).",
  GITHUB_APP_ID: "GitHub App id (instead of a token).",
  GITHUB_APP_PRIVATE_KEY: "GitHub App private key, PEM (secret).",
  GITHUB_WEBHOOK_SECRET:
    "Secret that signs GitHub webhook deliveries (secret). Unset → the webhook endpoint refuses every delivery.",
  EMBEDDING_PROVIDER: "local | openai | cohere. Default local (deterministic, no network).",
  EMBEDDING_MODEL: "Model name. Defaults: ballast-hash-v1, text-embedding-3-small, embed-v4.0.",
  EMBEDDING_DIMENSIONS: `Vector dimensions (at most ${MAX_INDEXED_DIMENSIONS}). Defaults: 256, 1536, 1024.`,
  EMBEDDING_BATCH_SIZE: "Texts per embedding request. Default 96.",
  EMBEDDING_COST_PER_MILLION_TOKENS:
    "USD per million tokens, overriding the provider's list price.",
  OPENAI_API_KEY: "OpenAI API key (secret). Required when EMBEDDING_PROVIDER=openai.",
  OPENAI_BASE_URL: "OpenAI API base URL. Default https://api.openai.com/v1",
  COHERE_API_KEY: "Cohere API key (secret). Required when EMBEDDING_PROVIDER=cohere.",
  COHERE_BASE_URL: "Cohere API base URL. Default https://api.cohere.com",
  CHUNK_SIZE: "Target chunk size in characters. Default 1600.",
  CHUNK_OVERLAP: "Overlap between plain-text chunks in characters. Default 160.",
  SYNC_BATCH_SIZE: "Documents per batch. Default 100.",
  MAX_FILE_BYTES: "Files larger than this are skipped. Default 1048576.",
  WEBHOOK_MAX_BODY_BYTES: "Largest accepted webhook body. Default 10485760.",
  SEARCH_EF_SEARCH:
    "HNSW candidates examined per search (pgvector hnsw.ef_search), 10-1000. Higher finds more of the exact nearest chunks, slower. Default 100.",
  SOURCE_LOCAL_ROOTS:
    "Folders (comma-separated absolute paths) under which the HTTP API may add local git repositories and file:// URLs. Default empty: the API refuses local paths; the CLI always accepts them.",
  OUTBOUND_ALLOW_HOSTS:
    "Comma-separated host names, addresses or CIDRs that user-supplied URLs (git remotes) may reach although they are private, loopback or link-local, e.g. git.internal,10.1.2.0/24.",
  OUTBOUND_ALLOW_PRIVATE:
    "true → user-supplied URLs may reach any private, loopback or link-local address. Default false; not allowed in staging/production.",
  TRUSTED_PROXIES:
    "Whose X-Forwarded-For to believe: comma-separated addresses/CIDRs of your reverse proxies, or vercel (Vercel's own x-vercel-forwarded-for). Default: vercel on Vercel, else none (the connection's address).",
  SEARCH_LOW_WEIGHT_PATHS:
    "Comma-separated globs of paths whose results rank lower (tests, fixtures, generated code by default); 'none' for no such paths.",
  SEARCH_LOW_WEIGHT:
    "Weight of results under SEARCH_LOW_WEIGHT_PATHS, 0-1 (1 = no change). Default 0.5.",
  SEARCH_VECTOR_WEIGHT:
    "Weight of the vector ranking against the lexical ranking in hybrid search, 0-10. Default 1 (OpenAI, Cohere), 0.3 (local embedder).",
  CONSOLE_SESSION_HOURS: "How long a console sign-in lasts, in hours (1-720). Default 12.",
  CONSOLE_ORIGIN:
    "The console's public origin, e.g. https://ballast.example.com: the GitHub sign-in callback is ORIGIN/auth/github/callback and state-changing requests must come from it. Unset: each request's own origin.",
  GITHUB_OAUTH_CLIENT_ID:
    "GitHub OAuth app client id: turns on “Sign in with GitHub” in the console (with GITHUB_OAUTH_CLIENT_SECRET and at least one GITHUB_SIGNIN_* entry).",
  GITHUB_OAUTH_CLIENT_SECRET: "GitHub OAuth app client secret (secret).",
  GITHUB_OAUTH_URL:
    "Where GitHub's OAuth endpoints live (/login/oauth/authorize, /login/oauth/access_token). Default https://github.com; the API calls use GITHUB_API_URL.",
  GITHUB_SIGNIN_ADMINS:
    "Who signs in with GitHub as admin: comma-separated user:LOGIN, org:ORG or team:ORG/TEAM-SLUG.",
  GITHUB_SIGNIN_OPERATORS:
    "Who signs in with GitHub as operator (same form as GITHUB_SIGNIN_ADMINS).",
  GITHUB_SIGNIN_VIEWERS: "Who signs in with GitHub as viewer (same form as GITHUB_SIGNIN_ADMINS).",
  TRACES_ENABLED:
    "false → record no trace envelopes (workflow steps and external calls). Default true.",
  TRACE_RETENTION_DAYS:
    "Days trace envelopes stay in the database; the daily cleanup archives older days to the archive store (gzipped JSON Lines + manifest), verifies them, then deletes the rows. 1-3650, default 30.",
  ARCHIVE_RETENTION_DAYS:
    "Days an archive (traces, outbox events, webhook deliveries) is kept in the archive store before the cleanup expires it. 1-36500, default 90.",
  OTEL_EXPORTER_OTLP_ENDPOINT:
    "OTLP/HTTP collector base URL (e.g. http://otel-collector:4318): trace envelopes are also exported there (to <endpoint>/v1/traces). Unset → no export.",
  OTEL_EXPORTER_OTLP_HEADERS:
    "Headers for the OTLP export, key=value comma-separated (secret: often an API key).",
  CLEANUP_STUCK_RUN_MINUTES:
    "A sync run still running with no heartbeat for this many minutes is failed by the cleanup, with the reason. Default 360.",
  OUTBOX_RETENTION_DAYS:
    "Days sent or dead outbox events are kept before the cleanup archives and deletes them. Default 7.",
  WEBHOOK_RETENTION_DAYS:
    "Days webhook deliveries are kept before the cleanup archives and deletes them. Default 30.",
  CLEANUP_APPROVAL_ROWS:
    "The cleanup waits for an operator's approval when it would delete more than this many rows that are not archived first. Default 10000.",
  CLEANUP_APPROVAL_PERCENT: "…or more than this percentage of one source's chunks. Default 10.",
  BREAKER_FAILURE_THRESHOLD:
    "Consecutive failures of a dependency (embedding provider, GitHub, S3) that open its circuit breaker. Default 5.",
  BREAKER_FAILURE_RATE:
    "Failure share over the last BREAKER_WINDOW calls that opens a breaker, 0-1. Default 0.5.",
  BREAKER_WINDOW: "Calls in a breaker's failure-rate window. Default 20.",
  BREAKER_OPEN_MS:
    "How long an open breaker fails fast before one probe call is let through, in ms. Default 30000.",
  BREAKER_OVERRIDES:
    "Per-dependency breaker settings: name:key=value,...;name:... with name embedding:openai, embedding:cohere, github or s3 and key failureThreshold, failureRate, windowSize, openMs, probeTimeoutMs.",
  RATE_LIMIT_OVERRIDES:
    "Inbound rate limits: NAME=LIMIT/WINDOW pairs, comma-separated (search, webhook, admin, auth-failures; window like 30s, 1m, 1h). Defaults: search 120/1m, webhook 600/1m, admin 300/1m, auth-failures 30/1m.",
  OPENAI_RPM:
    "OpenAI requests per minute shared by every instance through Redis (0 = no budget). Default 3000 (tier 1).",
  OPENAI_TPM:
    "OpenAI tokens per minute shared by every instance through Redis (0 = no budget). Default 1000000 (tier 1).",
  COHERE_RPM:
    "Cohere embed requests per minute shared through Redis (0 = no budget). Default 2000.",
  COHERE_TPM: "Cohere tokens per minute shared through Redis (0 = no budget). Default 0.",
  DLQ_MAX_RECOVERIES:
    "Re-drives of one dead-letter entry by the error-recovery workflow before it is parked for an operator. Default 5.",
  DLQ_ALERT_DEPTH:
    "Open dead-letter entries (pending + parked) above which an alert record is raised. Default 100.",
  LEDGER_ENABLED:
    "true → record the parity ledger (inbound events, plans, batches, run outcomes and index digests) that replay compares against. Default true.",
  LEDGER_RETENTION_DAYS:
    "Days ledger entries are kept before the daily cleanup archives (verified) and deletes them (at least 2: a day's replay reads them). Default 14.",
  REPLAY_MIN_PASS_RATE:
    "The nightly replay's gate: below this share of events passing (0-1) an alert record is raised. Default 0.95.",
  REPLAY_LATENCY_TOLERANCE:
    "Replay diff: a step's latency may differ by this fraction of the recorded one (0-10). Default 0.05.",
  REPLAY_LATENCY_FLOOR_MS:
    "Replay diff: latency differences up to this many ms are always within tolerance. Default 250.",
  METRICS_TOKEN:
    "Bearer token for GET /api/metrics (your Prometheus scraper; secret, at least 24 characters). Viewer API keys are accepted too. Unset: viewer keys only.",
  ALERT_SLACK_WEBHOOK_URL:
    "Slack-compatible incoming webhook URL for alert notifications (secret: the URL is the credential).",
  ALERT_SLACK_MODE:
    "live | log-only | off for the Slack channel. Default log-only in development/test; required in staging/production when the channel is configured.",
  ALERT_WEBHOOK_URL:
    "Generic webhook URL for alert notifications: JSON, signed with X-Ballast-Timestamp and X-Ballast-Signature (v1=HMAC-SHA256 of `timestamp.body`).",
  ALERT_WEBHOOK_SECRET:
    "HMAC secret for ALERT_WEBHOOK_URL's signature (secret, at least 16 characters). Required with ALERT_WEBHOOK_URL.",
  ALERT_WEBHOOK_MODE:
    "live | log-only | off for the generic webhook channel (as ALERT_SLACK_MODE).",
  ALERT_SMTP_URL:
    "SMTP server for alert e-mail: smtp://user:pass@host:587 (STARTTLS when offered) or smtps://… (secret).",
  ALERT_EMAIL_FROM: "Sender address of alert e-mail. Required with ALERT_SMTP_URL.",
  ALERT_EMAIL_TO: "Comma-separated recipients of alert e-mail. Required with ALERT_SMTP_URL.",
  ALERT_EMAIL_MODE: "live | log-only | off for the e-mail channel (as ALERT_SLACK_MODE).",
  ALERT_RULES:
    'JSON overrides of the alert rules, e.g. {"error-rate":{"threshold":0.02,"for":"15m","severity":"critical","cooldown":"1h","resolveFor":"30m","enabled":false}}. `ballast alerts list` shows the effective table.',
  ALERT_LIMIT_HOURLY: "Notifications sent per hour at most, across channels. Default 20.",
  ALERT_LIMIT_DAILY: "Notifications sent per day at most, across channels. Default 100.",
  ALERT_LIMIT_PER_DOMAIN_HOURLY:
    "Notifications sent per hour at most to one destination domain. Default 10.",
  ALERT_WORKING_HOURS:
    "Window for non-critical notifications, HH:MM-HH:MM in ALERT_TIME_ZONE (e.g. 09:00-18:00). Unset: any time. Critical ones go out at once.",
  ALERT_WORKING_DAYS:
    "Days the window is open: mon-fri (default), mon-sun, or a list like mon,tue,thu.",
  ALERT_TIME_ZONE: "IANA time zone of the working-hours window, e.g. Europe/Paris. Default UTC.",
  ALERT_APPROVAL_RECIPIENTS:
    "A channel that would notify more recipients than this waits for an admin's approval. Default 10.",
  ALERT_DAILY_BUDGET_USD: "Daily embedding cost budget in USD; the daily-cost rule fires above it.",
  SYNC_SLO_SECONDS_PER_1000_DOCS:
    "The sync SLO: seconds per 1,000 documents (and the least any run gets). Default 300.",
  DLQ_RETENTION_DAYS:
    "Days a dead-letter entry is kept after it ended (resolved, or discarded by an operator) before the cleanup archives it with its attempts, verifies the archive and deletes it; pending, re-driven and parked entries are never archived. 1-3650, default 30.",
  EMBEDDING_MODE:
    "live | log-only | off: what the remote embedding provider (openai, cohere) does. live sends requests; log-only sends nothing, records each call (counts and token estimates, never the text) and answers with deterministic local vectors in the provider's dimensions (their own embedding space), so a staging sync completes; off refuses any sync that needs embeddings. Required in staging/production with a remote provider; default live otherwise. The local embedder has no network and is always live.",
  VECTOR_INDEX_MIN_CHUNKS:
    "Chunks of one source (in one embedding space) from which it gets an HNSW vector index; below, its vector search is exact and no index is built. It is dropped again under half this. 0 = always index. Default 20000.",
} as const satisfies Record<string, string>;

export type VariableName = keyof typeof VARIABLES;

/** Variables whose values are secrets. */
export const SECRET_VARIABLES = [
  "UPSTASH_REDIS_REST_TOKEN",
  "S3_SECRET_ACCESS_KEY",
  "INNGEST_EVENT_KEY",
  "INNGEST_SIGNING_KEY",
  "INNGEST_SIGNING_KEY_FALLBACK",
  "GITHUB_TOKEN",
  "GITHUB_APP_PRIVATE_KEY",
  "GITHUB_WEBHOOK_SECRET",
  "OPENAI_API_KEY",
  "COHERE_API_KEY",
  "GITHUB_OAUTH_CLIENT_SECRET",
  "OTEL_EXPORTER_OTLP_HEADERS",
  "METRICS_TOKEN",
  "ALERT_SLACK_WEBHOOK_URL",
  "ALERT_WEBHOOK_SECRET",
  "ALERT_SMTP_URL",
] as const satisfies readonly VariableName[];

const optionalString = z.string().optional();
/** Comma-separated values, trimmed, empty entries dropped. */
const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? "")
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== ""),
  );
const url = (protocols: string[]) =>
  z
    .string()
    .optional()
    .refine((v) => v === undefined || isUrl(v, protocols), {
      message: `must be a URL (${protocols.join(" or ")})`,
    });
const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
  .optional()
  .transform((v) => (v === undefined ? undefined : ["true", "1", "yes"].includes(v)));
const int = (min: number, max: number) =>
  z
    .string()
    .optional()
    .refine((v) => v === undefined || (/^\d+$/.test(v) && Number(v) >= min && Number(v) <= max), {
      message: `must be a whole number from ${min} to ${max}`,
    })
    .transform((v) => (v === undefined ? undefined : Number(v)));
const positiveNumber = z
  .string()
  .optional()
  .refine((v) => v === undefined || (Number.isFinite(Number(v)) && Number(v) >= 0), {
    message: "must be a number ≥ 0",
  })
  .transform((v) => (v === undefined ? undefined : Number(v)));

const boundedNumber = (min: number, max: number) =>
  z
    .string()
    .optional()
    .refine(
      (v) =>
        v === undefined || (Number.isFinite(Number(v)) && Number(v) >= min && Number(v) <= max),
      { message: `must be a number from ${min} to ${max}` },
    )
    .transform((v) => (v === undefined ? undefined : Number(v)));

const integrationMode = z
  .enum(INTEGRATION_MODES, { message: "must be live, log-only or off" })
  .optional();

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat("en-GB", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

const rawSchema = z.object({
  BALLAST_ENV: z.enum(MODES, { message: `must be one of ${MODES.join(", ")}` }).optional(),
  VERCEL_ENV: z.enum(["production", "preview", "development"]).optional(),
  BALLAST_DATA_DIR: optionalString,
  LOG_LEVEL: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(", ")}` }).optional(),
  DATABASE_URL: url(["postgres:", "postgresql:"]),
  DATABASE_DRIVER: z
    .enum(["pglite", "neon", "pg"], { message: "must be pglite, neon or pg" })
    .optional(),
  PGLITE_DIR: optionalString,
  NEON_WS_PROXY: optionalString,
  REDIS_REQUIRED: bool,
  UPSTASH_REDIS_REST_URL: url(["https:", "http:"]),
  UPSTASH_REDIS_REST_TOKEN: optionalString,
  S3_BUCKET: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
      "must be a valid bucket name (3-63 of a-z 0-9 . -)",
    )
    .optional(),
  S3_REGION: z
    .string()
    .regex(/^[a-z0-9-]+$/, "must look like us-east-1 or auto")
    .optional(),
  S3_ENDPOINT: url(["https:", "http:"]),
  S3_FORCE_PATH_STYLE: bool,
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,
  S3_PREFIX: optionalString,
  ARCHIVE_DIR: optionalString,
  INNGEST_APP_ID: z
    .string()
    .regex(/^[a-z0-9-]+$/, "must be lowercase letters, digits and -")
    .optional(),
  INNGEST_DEV: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === "0" || v === "1" || isUrl(v, ["http:", "https:"]), {
      message: "must be 1, 0 or the dev server URL",
    }),
  INNGEST_EVENT_KEY: optionalString,
  INNGEST_SIGNING_KEY: z
    .string()
    .regex(/^signkey-[a-z]+-[0-9a-f]+$/i, "must look like signkey-<env>-<hex>")
    .optional(),
  INNGEST_SIGNING_KEY_FALLBACK: z
    .string()
    .regex(/^signkey-[a-z]+-[0-9a-f]+$/i, "must look like signkey-<env>-<hex>")
    .optional(),
  INNGEST_BASE_URL: url(["https:", "http:"]),
  INNGEST_RUNNER: z
    .enum(["auto", "inngest", "embedded"], { message: "must be auto, inngest or embedded" })
    .optional(),
  INNGEST_SERVE_ORIGIN: url(["https:", "http:"]),
  GITHUB_API_URL: url(["https:", "http:"]),
  GITHUB_TOKEN: optionalString,
  GITHUB_APP_ID: z.string().regex(/^\d+$/, "must be the numeric app id").optional(),
  GITHUB_APP_PRIVATE_KEY: optionalString,
  GITHUB_WEBHOOK_SECRET: optionalString,
  EMBEDDING_PROVIDER: z
    .enum(EMBEDDING_PROVIDERS, { message: `must be one of ${EMBEDDING_PROVIDERS.join(", ")}` })
    .optional(),
  EMBEDDING_MODEL: optionalString,
  EMBEDDING_DIMENSIONS: int(8, MAX_INDEXED_DIMENSIONS),
  EMBEDDING_BATCH_SIZE: int(1, 2048),
  EMBEDDING_COST_PER_MILLION_TOKENS: positiveNumber,
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: url(["https:", "http:"]),
  COHERE_API_KEY: optionalString,
  COHERE_BASE_URL: url(["https:", "http:"]),
  CHUNK_SIZE: int(200, 100_000),
  CHUNK_OVERLAP: int(0, 50_000),
  SYNC_BATCH_SIZE: int(1, 1000),
  MAX_FILE_BYTES: int(1, 1024 * 1024 * 1024),
  WEBHOOK_MAX_BODY_BYTES: int(1024, 100 * 1024 * 1024),
  SEARCH_EF_SEARCH: int(10, 1000),
  SOURCE_LOCAL_ROOTS: list,
  OUTBOUND_ALLOW_HOSTS: list,
  OUTBOUND_ALLOW_PRIVATE: bool,
  TRUSTED_PROXIES: list,
  SEARCH_LOW_WEIGHT_PATHS: optionalString,
  SEARCH_LOW_WEIGHT: boundedNumber(0, 1),
  SEARCH_VECTOR_WEIGHT: boundedNumber(0, 10),
  CONSOLE_SESSION_HOURS: int(1, 720),
  CONSOLE_ORIGIN: url(["https:", "http:"]),
  GITHUB_OAUTH_CLIENT_ID: optionalString,
  GITHUB_OAUTH_CLIENT_SECRET: optionalString,
  GITHUB_OAUTH_URL: url(["https:", "http:"]),
  GITHUB_SIGNIN_ADMINS: list,
  GITHUB_SIGNIN_OPERATORS: list,
  GITHUB_SIGNIN_VIEWERS: list,
  TRACES_ENABLED: bool,
  TRACE_RETENTION_DAYS: int(1, 3650),
  ARCHIVE_RETENTION_DAYS: int(1, 36_500),
  OTEL_EXPORTER_OTLP_ENDPOINT: url(["https:", "http:"]),
  OTEL_EXPORTER_OTLP_HEADERS: optionalString,
  CLEANUP_STUCK_RUN_MINUTES: int(10, 100_000),
  OUTBOX_RETENTION_DAYS: int(1, 3650),
  WEBHOOK_RETENTION_DAYS: int(1, 3650),
  CLEANUP_APPROVAL_ROWS: int(1, 1_000_000_000),
  CLEANUP_APPROVAL_PERCENT: boundedNumber(0.01, 100),
  BREAKER_FAILURE_THRESHOLD: int(1, 1000),
  BREAKER_FAILURE_RATE: boundedNumber(0.01, 1),
  BREAKER_WINDOW: int(2, 10_000),
  BREAKER_OPEN_MS: int(100, 3_600_000),
  BREAKER_OVERRIDES: optionalString,
  RATE_LIMIT_OVERRIDES: optionalString,
  OPENAI_RPM: int(0, 100_000_000),
  OPENAI_TPM: int(0, 1_000_000_000),
  COHERE_RPM: int(0, 100_000_000),
  COHERE_TPM: int(0, 1_000_000_000),
  DLQ_MAX_RECOVERIES: int(1, 100),
  DLQ_ALERT_DEPTH: int(1, 10_000_000),
  LEDGER_ENABLED: bool,
  LEDGER_RETENTION_DAYS: int(2, 3650),
  REPLAY_MIN_PASS_RATE: boundedNumber(0, 1),
  REPLAY_LATENCY_TOLERANCE: boundedNumber(0, 10),
  REPLAY_LATENCY_FLOOR_MS: int(0, 3_600_000),
  METRICS_TOKEN: z.string().min(24, "must be at least 24 characters").optional(),
  ALERT_SLACK_WEBHOOK_URL: url(["https:", "http:"]),
  ALERT_SLACK_MODE: integrationMode,
  ALERT_WEBHOOK_URL: url(["https:", "http:"]),
  ALERT_WEBHOOK_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  ALERT_WEBHOOK_MODE: integrationMode,
  ALERT_SMTP_URL: url(["smtp:", "smtps:"]),
  ALERT_EMAIL_FROM: z.email("must be an e-mail address").optional(),
  ALERT_EMAIL_TO: list,
  ALERT_EMAIL_MODE: integrationMode,
  ALERT_RULES: optionalString,
  ALERT_LIMIT_HOURLY: int(1, 100_000),
  ALERT_LIMIT_DAILY: int(1, 1_000_000),
  ALERT_LIMIT_PER_DOMAIN_HOURLY: int(1, 100_000),
  ALERT_WORKING_HOURS: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/, "must be HH:MM-HH:MM")
    .optional(),
  ALERT_WORKING_DAYS: optionalString,
  ALERT_TIME_ZONE: z
    .string()
    .refine(isTimeZone, "must be an IANA time zone such as Europe/Paris")
    .optional(),
  ALERT_APPROVAL_RECIPIENTS: int(0, 10_000),
  ALERT_DAILY_BUDGET_USD: positiveNumber,
  SYNC_SLO_SECONDS_PER_1000_DOCS: int(1, 86_400),
  DLQ_RETENTION_DAYS: int(1, 3650),
  EMBEDDING_MODE: integrationMode,
  VECTOR_INDEX_MIN_CHUNKS: int(0, 100_000_000),
});

type Raw = z.output<typeof rawSchema>;

function isUrl(value: string, protocols: string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** Empty strings count as unset, so `FOO=` in an env file does not pass as a value. */
function clean(env: EnvSource): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== "") out[key] = value.trim();
  }
  return out;
}

export function resolveMode(env: EnvSource): Mode | undefined {
  const cleaned = clean(env);
  const own = cleaned.BALLAST_ENV;
  if (own !== undefined)
    return (MODES as readonly string[]).includes(own) ? (own as Mode) : undefined;
  switch (cleaned.VERCEL_ENV) {
    case "production":
      return "production";
    case "preview":
      return "staging";
    default:
      return "development";
  }
}

export interface ParseOptions {
  /** Validate as this mode whatever BALLAST_ENV says (`validate-env --mode`). */
  mode?: Mode;
  /** Resolve relative paths against this folder. Default: the current directory. */
  cwd?: string;
}

export type ParseResult =
  | { ok: true; config: Config }
  | { ok: false; mode: Mode | undefined; problems: ConfigProblem[] };

export function parseConfig(env: EnvSource, options: ParseOptions = {}): ParseResult {
  const cleaned = clean(env);
  const problems: ConfigProblem[] = [];
  const parsed = rawSchema.safeParse(cleaned);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push({ variable: String(issue.path[0] ?? "environment"), message: issue.message });
    }
  }
  const mode = options.mode ?? resolveMode(env);
  if (!parsed.success || mode === undefined) return { ok: false, mode, problems };
  const result = buildConfig(parsed.data, mode, options.cwd ?? ".", problems);
  return problems.length === 0 && result
    ? { ok: true, config: result }
    : { ok: false, mode, problems };
}

function buildConfig(
  raw: Raw,
  mode: Mode,
  cwd: string,
  problems: ConfigProblem[],
): Config | undefined {
  const strict = mode === "production" || mode === "staging";
  const need = (variable: VariableName, value: unknown, why: string) => {
    if (value === undefined) problems.push({ variable, message: `is required ${why}` });
  };
  const inMode = `in ${mode}`;

  const dataDir = path.resolve(cwd, raw.BALLAST_DATA_DIR ?? ".data");

  // Database
  const driver = raw.DATABASE_DRIVER ?? inferDriver(raw.DATABASE_URL);
  if (strict) need("DATABASE_URL", raw.DATABASE_URL, inMode);
  if (strict && raw.DATABASE_DRIVER === "pglite")
    problems.push({
      variable: "DATABASE_DRIVER",
      message: `pglite is an embedded default and not allowed ${inMode}`,
    });
  if (driver !== "pglite" && raw.DATABASE_URL === undefined)
    problems.push({
      variable: "DATABASE_URL",
      message: `is required when DATABASE_DRIVER=${driver}`,
    });
  const pgliteDir =
    raw.PGLITE_DIR === "memory://"
      ? "memory://"
      : path.resolve(cwd, raw.PGLITE_DIR ?? path.join(dataDir, "pglite"));

  // Redis
  const redisRequired = raw.REDIS_REQUIRED ?? strict;
  const hasUpstash =
    raw.UPSTASH_REDIS_REST_URL !== undefined || raw.UPSTASH_REDIS_REST_TOKEN !== undefined;
  if (redisRequired || hasUpstash) {
    const why = redisRequired
      ? raw.REDIS_REQUIRED
        ? "when REDIS_REQUIRED=true"
        : inMode
      : "with the other Upstash variable";
    need("UPSTASH_REDIS_REST_URL", raw.UPSTASH_REDIS_REST_URL, why);
    need("UPSTASH_REDIS_REST_TOKEN", raw.UPSTASH_REDIS_REST_TOKEN, why);
  }
  if (strict && raw.REDIS_REQUIRED === false)
    problems.push({
      variable: "REDIS_REQUIRED",
      message: `cannot be false ${inMode}: rate limits and locks need a shared Redis`,
    });

  // Archive
  if (strict) need("S3_BUCKET", raw.S3_BUCKET, inMode);
  if ((raw.S3_ACCESS_KEY_ID === undefined) !== (raw.S3_SECRET_ACCESS_KEY === undefined)) {
    const missing =
      raw.S3_ACCESS_KEY_ID === undefined ? "S3_ACCESS_KEY_ID" : "S3_SECRET_ACCESS_KEY";
    problems.push({
      variable: missing,
      message: "must be set together with its pair (or neither)",
    });
  }
  if (raw.S3_BUCKET === undefined && (raw.S3_ENDPOINT ?? raw.S3_ACCESS_KEY_ID) !== undefined)
    problems.push({
      variable: "S3_BUCKET",
      message: "is required when other S3_* variables are set",
    });

  // Inngest
  const inngestDevRaw = raw.INNGEST_DEV;
  if (strict && inngestDevRaw !== undefined && inngestDevRaw !== "0")
    problems.push({
      variable: "INNGEST_DEV",
      message: `must be unset ${inMode}: requests must be signed`,
    });
  if (strict) {
    need("INNGEST_EVENT_KEY", raw.INNGEST_EVENT_KEY, inMode);
    need("INNGEST_SIGNING_KEY", raw.INNGEST_SIGNING_KEY, inMode);
  }
  if (strict && raw.INNGEST_RUNNER === "embedded")
    problems.push({
      variable: "INNGEST_RUNNER",
      message: `cannot be embedded ${inMode}: workflows need Inngest's durable execution`,
    });
  // Dev mode is never the default: only when asked for (1 or a dev server URL) and no signing
  // key is configured, so a deployment with keys can never fall back to unsigned requests.
  const devRequested = inngestDevRaw !== undefined && inngestDevRaw !== "0";
  if (!strict && devRequested && raw.INNGEST_SIGNING_KEY !== undefined)
    problems.push({
      variable: "INNGEST_DEV",
      message:
        "cannot be set together with INNGEST_SIGNING_KEY: dev mode accepts unsigned requests (unset one of them)",
    });
  const inngestDev = !strict && devRequested && raw.INNGEST_SIGNING_KEY === undefined;
  if (
    strict &&
    raw.INNGEST_SERVE_ORIGIN !== undefined &&
    !raw.INNGEST_SERVE_ORIGIN.startsWith("https:")
  )
    problems.push({ variable: "INNGEST_SERVE_ORIGIN", message: `must be an https URL ${inMode}` });

  // Security
  const sourceLocalRoots: string[] = [];
  for (const root of raw.SOURCE_LOCAL_ROOTS) {
    if (!path.isAbsolute(root))
      problems.push({ variable: "SOURCE_LOCAL_ROOTS", message: `${root} is not an absolute path` });
    else if (path.resolve(root) === path.parse(path.resolve(root)).root)
      problems.push({
        variable: "SOURCE_LOCAL_ROOTS",
        message: "must not contain the filesystem root (that would allow every path)",
      });
    else sourceLocalRoots.push(path.resolve(root));
  }
  if (strict && raw.OUTBOUND_ALLOW_PRIVATE === true)
    problems.push({
      variable: "OUTBOUND_ALLOW_PRIVATE",
      message: `cannot be true ${inMode}; list the internal hosts in OUTBOUND_ALLOW_HOSTS instead`,
    });
  for (const entry of raw.OUTBOUND_ALLOW_HOSTS) {
    const problem = hostOrCidrProblem(entry);
    if (problem)
      problems.push({ variable: "OUTBOUND_ALLOW_HOSTS", message: `${entry}: ${problem}` });
  }
  let trustedProxies: "vercel" | string[];
  if (raw.TRUSTED_PROXIES.length === 1 && raw.TRUSTED_PROXIES[0]?.toLowerCase() === "vercel")
    trustedProxies = "vercel";
  else if (raw.TRUSTED_PROXIES.length === 0)
    trustedProxies = raw.VERCEL_ENV !== undefined ? "vercel" : [];
  else {
    trustedProxies = raw.TRUSTED_PROXIES;
    for (const entry of raw.TRUSTED_PROXIES) {
      if (!isIpOrCidr(entry))
        problems.push({
          variable: "TRUSTED_PROXIES",
          message: `${entry} is not an IP address or CIDR (or the single word vercel)`,
        });
    }
  }

  // GitHub
  if ((raw.GITHUB_APP_ID === undefined) !== (raw.GITHUB_APP_PRIVATE_KEY === undefined)) {
    const missing = raw.GITHUB_APP_ID === undefined ? "GITHUB_APP_ID" : "GITHUB_APP_PRIVATE_KEY";
    problems.push({
      variable: missing,
      message: "must be set together with its pair (GitHub App auth)",
    });
  }

  // Console
  const consoleConfig = buildConsole(raw, mode, problems);
  const monitoring = buildMonitoring(raw, mode, problems);

  // Embedding
  const provider = raw.EMBEDDING_PROVIDER ?? "local";
  const defaults = EMBEDDING_DEFAULTS[provider];
  if (provider === "openai")
    need("OPENAI_API_KEY", raw.OPENAI_API_KEY, "when EMBEDDING_PROVIDER=openai");
  if (provider === "cohere")
    need("COHERE_API_KEY", raw.COHERE_API_KEY, "when EMBEDDING_PROVIDER=cohere");
  const embeddingMode = embeddingModeOf(raw, mode, problems);
  monitoring.integrations[`embedding.${provider}`] = {
    mode: embeddingMode,
    configured: true,
    detail:
      provider === "local"
        ? "local embedder: no network"
        : embeddingMode === "live"
          ? "embedding provider API"
          : embeddingMode === "log-only"
            ? "embedding provider API (log-only: recorded, answered with local vectors)"
            : "embedding provider API (off: syncs that need embeddings fail)",
  };

  // Chunking
  const chunkSize = raw.CHUNK_SIZE ?? 1600;
  const chunkOverlap = raw.CHUNK_OVERLAP ?? 160;
  if (chunkOverlap >= chunkSize / 2)
    problems.push({
      variable: "CHUNK_OVERLAP",
      message: `must be less than half of CHUNK_SIZE (${chunkSize})`,
    });

  // Resilience
  const breakerOverrides = parseBreakerOverrides(raw.BREAKER_OVERRIDES);
  for (const message of breakerOverrides.problems)
    problems.push({ variable: "BREAKER_OVERRIDES", message });
  const rateLimits = parseRateLimitOverrides(raw.RATE_LIMIT_OVERRIDES);
  for (const message of rateLimits.problems)
    problems.push({ variable: "RATE_LIMIT_OVERRIDES", message });

  if (problems.length > 0) return undefined;

  const secrets = SECRET_VARIABLES.map((name) => raw[name]).filter(
    (v): v is string => v !== undefined,
  );
  const dbPassword = raw.DATABASE_URL ? safePassword(raw.DATABASE_URL) : undefined;
  if (dbPassword) secrets.push(dbPassword);

  return {
    mode,
    dataDir,
    logLevel: raw.LOG_LEVEL ?? (mode === "test" ? "warn" : "info"),
    database: { driver, url: raw.DATABASE_URL, pgliteDir, neonWsProxy: raw.NEON_WS_PROXY },
    redis: {
      backend: raw.UPSTASH_REDIS_REST_URL ? "upstash" : "memory",
      required: redisRequired,
      url: raw.UPSTASH_REDIS_REST_URL,
      token: raw.UPSTASH_REDIS_REST_TOKEN,
    },
    archive: {
      backend: raw.S3_BUCKET ? "s3" : "folder",
      dir: path.resolve(cwd, raw.ARCHIVE_DIR ?? path.join(dataDir, "archive")),
      s3: raw.S3_BUCKET
        ? {
            bucket: raw.S3_BUCKET,
            region: raw.S3_REGION ?? "us-east-1",
            endpoint: raw.S3_ENDPOINT,
            forcePathStyle: raw.S3_FORCE_PATH_STYLE ?? false,
            accessKeyId: raw.S3_ACCESS_KEY_ID,
            secretAccessKey: raw.S3_SECRET_ACCESS_KEY,
            prefix: normalisePrefix(raw.S3_PREFIX ?? `ballast/${mode}/`),
          }
        : undefined,
    },
    inngest: {
      appId: raw.INNGEST_APP_ID ?? "ballast",
      dev: inngestDev,
      devServerUrl: inngestDev && inngestDevRaw?.includes("://") ? inngestDevRaw : undefined,
      eventKey: raw.INNGEST_EVENT_KEY,
      signingKey: raw.INNGEST_SIGNING_KEY,
      signingKeyFallback: raw.INNGEST_SIGNING_KEY_FALLBACK,
      baseUrl: raw.INNGEST_BASE_URL,
      runner: raw.INNGEST_RUNNER ?? "auto",
      serveOrigin: raw.INNGEST_SERVE_ORIGIN?.replace(/\/+$/, ""),
    },
    security: {
      sourceLocalRoots,
      outboundAllowHosts: raw.OUTBOUND_ALLOW_HOSTS.map((h) => h.toLowerCase()),
      outboundAllowPrivate: raw.OUTBOUND_ALLOW_PRIVATE ?? false,
      outboundHttpsOnly: strict,
      trustedProxies,
    },
    github: {
      apiUrl: (raw.GITHUB_API_URL ?? "https://api.github.com").replace(/\/+$/, ""),
      token: raw.GITHUB_TOKEN,
      appId: raw.GITHUB_APP_ID,
      privateKey: raw.GITHUB_APP_PRIVATE_KEY?.replace(/\\n/g, "\n"),
      webhookSecret: raw.GITHUB_WEBHOOK_SECRET,
    },
    embedding: {
      provider,
      model: raw.EMBEDDING_MODEL ?? defaults.model,
      dimensions: raw.EMBEDDING_DIMENSIONS ?? defaults.dimensions,
      batchSize: raw.EMBEDDING_BATCH_SIZE ?? 96,
      costPerMillionTokens: raw.EMBEDDING_COST_PER_MILLION_TOKENS,
      mode: embeddingMode,
      openai: {
        apiKey: raw.OPENAI_API_KEY,
        baseUrl: (raw.OPENAI_BASE_URL ?? "https://api.openai.com/v1").replace(/\/+$/, ""),
      },
      cohere: {
        apiKey: raw.COHERE_API_KEY,
        baseUrl: (raw.COHERE_BASE_URL ?? "https://api.cohere.com").replace(/\/+$/, ""),
      },
    },
    chunking: { size: chunkSize, overlap: chunkOverlap },
    sync: {
      batchSize: raw.SYNC_BATCH_SIZE ?? 100,
      maxFileBytes: raw.MAX_FILE_BYTES ?? 1024 * 1024,
      workDir: path.join(dataDir, "work"),
    },
    webhooks: { maxBodyBytes: raw.WEBHOOK_MAX_BODY_BYTES ?? 10 * 1024 * 1024 },
    search: {
      efSearch: raw.SEARCH_EF_SEARCH ?? 100,
      vectorIndexMinChunks: raw.VECTOR_INDEX_MIN_CHUNKS ?? 20_000,
      ranking: {
        ...(raw.SEARCH_LOW_WEIGHT_PATHS !== undefined
          ? {
              lowWeightPaths:
                raw.SEARCH_LOW_WEIGHT_PATHS.trim() === "none"
                  ? []
                  : raw.SEARCH_LOW_WEIGHT_PATHS.split(",")
                      .map((g) => g.trim())
                      .filter(Boolean),
            }
          : {}),
        ...(raw.SEARCH_LOW_WEIGHT !== undefined ? { lowWeight: raw.SEARCH_LOW_WEIGHT } : {}),
        ...(raw.SEARCH_VECTOR_WEIGHT !== undefined
          ? { vectorWeight: raw.SEARCH_VECTOR_WEIGHT }
          : {}),
      },
    },
    console: consoleConfig,
    resilience: {
      breaker: {
        failureThreshold: raw.BREAKER_FAILURE_THRESHOLD ?? BREAKER_DEFAULTS.failureThreshold,
        failureRate: raw.BREAKER_FAILURE_RATE ?? BREAKER_DEFAULTS.failureRate,
        windowSize: raw.BREAKER_WINDOW ?? BREAKER_DEFAULTS.windowSize,
        openMs: raw.BREAKER_OPEN_MS ?? BREAKER_DEFAULTS.openMs,
        probeTimeoutMs: BREAKER_DEFAULTS.probeTimeoutMs,
      },
      breakerOverrides: breakerOverrides.overrides,
      inbound: rateLimits.overrides,
      budgets: {
        openai: {
          requestsPerMinute: raw.OPENAI_RPM ?? PROVIDER_BUDGETS.openai.requestsPerMinute,
          tokensPerMinute: raw.OPENAI_TPM ?? PROVIDER_BUDGETS.openai.tokensPerMinute,
        },
        cohere: {
          requestsPerMinute: raw.COHERE_RPM ?? PROVIDER_BUDGETS.cohere.requestsPerMinute,
          tokensPerMinute: raw.COHERE_TPM ?? PROVIDER_BUDGETS.cohere.tokensPerMinute,
        },
      },
      dlq: { maxRecoveries: raw.DLQ_MAX_RECOVERIES ?? 5, alertDepth: raw.DLQ_ALERT_DEPTH ?? 100 },
    },
    monitoring,
    secrets,
    traces: {
      enabled: raw.TRACES_ENABLED ?? true,
      retentionDays: raw.TRACE_RETENTION_DAYS ?? 30,
      archiveRetentionDays: raw.ARCHIVE_RETENTION_DAYS ?? 90,
      otlp: raw.OTEL_EXPORTER_OTLP_ENDPOINT
        ? {
            endpoint: raw.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, ""),
            headers: parseHeaderList(raw.OTEL_EXPORTER_OTLP_HEADERS),
          }
        : undefined,
    },
    cleanup: {
      stuckRunMinutes: raw.CLEANUP_STUCK_RUN_MINUTES ?? 360,
      outboxRetentionDays: raw.OUTBOX_RETENTION_DAYS ?? 7,
      webhookRetentionDays: raw.WEBHOOK_RETENTION_DAYS ?? 30,
      deadLetterRetentionDays: raw.DLQ_RETENTION_DAYS ?? 30,
      approvalRows: raw.CLEANUP_APPROVAL_ROWS ?? 10_000,
      approvalFraction: (raw.CLEANUP_APPROVAL_PERCENT ?? 10) / 100,
      approvalTimeoutHours: 24,
    },
    ledger: {
      enabled: raw.LEDGER_ENABLED ?? true,
      retentionDays: raw.LEDGER_RETENTION_DAYS ?? 14,
    },
    replay: {
      minPassRate: raw.REPLAY_MIN_PASS_RATE ?? 0.95,
      latencyTolerance: raw.REPLAY_LATENCY_TOLERANCE ?? 0.05,
      latencyFloorMs: raw.REPLAY_LATENCY_FLOOR_MS ?? 250,
    },
  };
}

/** `k1=v1,k2=v2` (OTEL_EXPORTER_OTLP_HEADERS' format; values may be %-encoded). */
function parseHeaderList(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (value ?? "").split(",")) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    const name = pair.slice(0, at).trim().toLowerCase();
    let v = pair.slice(at + 1).trim();
    try {
      v = decodeURIComponent(v);
    } catch {
      // keep it as written
    }
    if (/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name) && v) out[name] = v;
  }
  return out;
}

const GITHUB_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const TEAM_SLUG = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** `user:<login>`, `org:<org>` or `team:<org>/<slug>`; a string naming the problem otherwise. */
export function parseGitHubSubject(entry: string): GitHubSubject | string {
  const match = /^(user|org|team):(.+)$/i.exec(entry.trim());
  if (!match) return `${entry}: must be user:<login>, org:<org> or team:<org>/<team-slug>`;
  const type = (match[1] ?? "").toLowerCase();
  const value = match[2] ?? "";
  if (type === "team") {
    const [org = "", team = "", ...rest] = value.split("/");
    if (rest.length > 0 || !GITHUB_NAME.test(org) || !TEAM_SLUG.test(team))
      return `${entry}: a team is team:<org>/<team-slug>`;
    return { type: "team", org: org.toLowerCase(), team: team.toLowerCase() };
  }
  if (!GITHUB_NAME.test(value))
    return `${entry}: not a GitHub ${type === "user" ? "login" : "organisation"}`;
  return type === "user"
    ? { type: "user", login: value.toLowerCase() }
    : { type: "org", org: value.toLowerCase() };
}

function buildConsole(raw: Raw, mode: Mode, problems: ConfigProblem[]): ConsoleConfig {
  const strict = mode === "production" || mode === "staging";
  const inMode = `in ${mode}`;
  const origin = raw.CONSOLE_ORIGIN === undefined ? undefined : new URL(raw.CONSOLE_ORIGIN).origin;
  if (strict && origin !== undefined && !origin.startsWith("https:"))
    problems.push({ variable: "CONSOLE_ORIGIN", message: `must be an https URL ${inMode}` });
  const roles = { admin: [], operator: [], viewer: [] } as {
    admin: GitHubSubject[];
    operator: GitHubSubject[];
    viewer: GitHubSubject[];
  };
  const lists = [
    ["GITHUB_SIGNIN_ADMINS", "admin"],
    ["GITHUB_SIGNIN_OPERATORS", "operator"],
    ["GITHUB_SIGNIN_VIEWERS", "viewer"],
  ] as const;
  for (const [variable, role] of lists)
    for (const entry of raw[variable]) {
      const subject = parseGitHubSubject(entry);
      if (typeof subject === "string") problems.push({ variable, message: subject });
      else roles[role].push(subject);
    }
  const clientId = raw.GITHUB_OAUTH_CLIENT_ID;
  const clientSecret = raw.GITHUB_OAUTH_CLIENT_SECRET;
  if ((clientId === undefined) !== (clientSecret === undefined))
    problems.push({
      variable: clientId === undefined ? "GITHUB_OAUTH_CLIENT_ID" : "GITHUB_OAUTH_CLIENT_SECRET",
      message: "must be set together with its pair (GitHub sign-in)",
    });
  const anyRole = roles.admin.length + roles.operator.length + roles.viewer.length > 0;
  if (clientId !== undefined && !anyRole)
    problems.push({
      variable: "GITHUB_SIGNIN_ADMINS",
      message:
        "GitHub sign-in is configured but nobody may sign in: list users, organisations or teams in GITHUB_SIGNIN_ADMINS, _OPERATORS or _VIEWERS",
    });
  return {
    sessionTtlMs: (raw.CONSOLE_SESSION_HOURS ?? 12) * 3600_000,
    secureCookies: mode !== "development",
    origin,
    github:
      clientId !== undefined && clientSecret !== undefined
        ? {
            clientId,
            clientSecret,
            oauthUrl: (raw.GITHUB_OAUTH_URL ?? "https://github.com").replace(/\/+$/, ""),
            roles,
          }
        : undefined,
  };
}

function isIpOrCidr(value: string): boolean {
  return ipaddr.isValid(value) || isCidr(value);
}

function isCidr(value: string): boolean {
  try {
    ipaddr.parseCIDR(value);
    return true;
  } catch {
    return false;
  }
}

/** A host name, an IP address or a CIDR; undefined when fine, else why not. */
function hostOrCidrProblem(value: string): string | undefined {
  if (isIpOrCidr(value)) return undefined;
  if (
    /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(
      value,
    )
  )
    return undefined;
  return "not a host name, IP address or CIDR";
}

function inferDriver(databaseUrl: string | undefined): "pglite" | "neon" | "pg" {
  if (databaseUrl === undefined) return "pglite";
  const host = new URL(databaseUrl).hostname;
  return host.endsWith(".neon.tech") || host.endsWith(".neon.build") ? "neon" : "pg";
}

function safePassword(databaseUrl: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(databaseUrl).password);
    return password.length > 0 ? password : undefined;
  } catch {
    return undefined;
  }
}

function normalisePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, "");
  return trimmed === "" || trimmed.endsWith("/") ? trimmed : `${trimmed}/`;
}

const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

function parseDays(value: string): number[] | undefined {
  const v = value.trim().toLowerCase();
  const range = /^([a-z]{3})-([a-z]{3})$/.exec(v);
  if (range) {
    const from = DAY_NAMES.indexOf(range[1] ?? "");
    const to = DAY_NAMES.indexOf(range[2] ?? "");
    if (from < 0 || to < 0) return undefined;
    const days: number[] = [];
    for (let d = from; ; d = (d + 1) % 7) {
      days.push(d);
      if (d === to) break;
    }
    return days;
  }
  const days = v.split(",").map((d) => DAY_NAMES.indexOf(d.trim()));
  return days.some((d) => d < 0) ? undefined : [...new Set(days)];
}

const ruleOverride = z.strictObject({
  enabled: z.boolean().optional(),
  threshold: z.number().finite().optional(),
  for: z.union([z.string(), z.number()]).optional(),
  severity: z.enum(["info", "warning", "critical"]).optional(),
  cooldown: z.union([z.string(), z.number()]).optional(),
  resolveFor: z.union([z.string(), z.number()]).optional(),
  resolveThreshold: z.number().finite().optional(),
});

function parseRuleOverrides(
  value: string | undefined,
  problems: ConfigProblem[],
): Record<string, Partial<RuleSettings>> {
  if (value === undefined) return {};
  const variable = "ALERT_RULES";
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    problems.push({ variable, message: "must be a JSON object of rule overrides" });
    return {};
  }
  const parsed = z.record(z.string(), ruleOverride).safeParse(json);
  if (!parsed.success) {
    problems.push({
      variable,
      message: `must map rule ids to {enabled, threshold, for, severity, cooldown, resolveFor, resolveThreshold}: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`,
    });
    return {};
  }
  const out: Record<string, Partial<RuleSettings>> = {};
  for (const [id, o] of Object.entries(parsed.data)) {
    if (!RULE_IDS.includes(id)) {
      problems.push({ variable, message: `unknown rule ${id} (rules: ${RULE_IDS.join(", ")})` });
      continue;
    }
    const settings: Partial<RuleSettings> = {};
    if (o.enabled !== undefined) settings.enabled = o.enabled;
    if (o.threshold !== undefined) settings.threshold = o.threshold;
    if (o.severity !== undefined) settings.severity = o.severity as Severity;
    if (o.resolveThreshold !== undefined) settings.resolveThreshold = o.resolveThreshold;
    for (const [field, key] of [
      ["for", "forMs"],
      ["cooldown", "cooldownMs"],
      ["resolveFor", "resolveForMs"],
    ] as const) {
      const raw = o[field];
      if (raw === undefined) continue;
      const ms = parseDuration(raw);
      if (ms === undefined)
        problems.push({ variable, message: `${id}.${field}: not a duration like 15m, 2h or 30s` });
      else settings[key] = ms;
    }
    out[id] = settings;
  }
  return out;
}

function buildMonitoring(raw: Raw, mode: Mode, problems: ConfigProblem[]): MonitoringConfig {
  const strict = mode === "production" || mode === "staging";
  const modeOf = (
    variable: "ALERT_SLACK_MODE" | "ALERT_WEBHOOK_MODE" | "ALERT_EMAIL_MODE",
    configured: boolean,
  ): IntegrationMode => {
    const value = raw[variable];
    if (value !== undefined) return value;
    if (!configured) return "off";
    if (strict)
      problems.push({
        variable,
        message: `is required in ${mode} when the channel is configured: choose live, log-only or off`,
      });
    return "log-only";
  };
  const channels: ChannelConfig[] = [];
  if (raw.ALERT_SLACK_WEBHOOK_URL !== undefined)
    channels.push({
      id: "slack",
      kind: "slack",
      url: raw.ALERT_SLACK_WEBHOOK_URL,
      mode: modeOf("ALERT_SLACK_MODE", true),
    });
  if (raw.ALERT_WEBHOOK_URL !== undefined || raw.ALERT_WEBHOOK_SECRET !== undefined) {
    if (raw.ALERT_WEBHOOK_URL === undefined || raw.ALERT_WEBHOOK_SECRET === undefined)
      problems.push({
        variable:
          raw.ALERT_WEBHOOK_URL === undefined ? "ALERT_WEBHOOK_URL" : "ALERT_WEBHOOK_SECRET",
        message: "must be set together with its pair (the signed webhook channel)",
      });
    else
      channels.push({
        id: "webhook",
        kind: "webhook",
        url: raw.ALERT_WEBHOOK_URL,
        secret: raw.ALERT_WEBHOOK_SECRET,
        mode: modeOf("ALERT_WEBHOOK_MODE", true),
      });
  }
  const emailSet =
    raw.ALERT_SMTP_URL !== undefined ||
    raw.ALERT_EMAIL_FROM !== undefined ||
    raw.ALERT_EMAIL_TO.length > 0;
  if (emailSet) {
    const missing = [
      raw.ALERT_SMTP_URL === undefined ? "ALERT_SMTP_URL" : undefined,
      raw.ALERT_EMAIL_FROM === undefined ? "ALERT_EMAIL_FROM" : undefined,
      raw.ALERT_EMAIL_TO.length === 0 ? "ALERT_EMAIL_TO" : undefined,
    ].filter((v): v is string => v !== undefined);
    for (const variable of missing)
      problems.push({
        variable,
        message:
          "is required for the e-mail channel (ALERT_SMTP_URL, ALERT_EMAIL_FROM, ALERT_EMAIL_TO)",
      });
    const bad = raw.ALERT_EMAIL_TO.filter((a) => !z.email().safeParse(a).success);
    for (const address of bad)
      problems.push({ variable: "ALERT_EMAIL_TO", message: `${address} is not an e-mail address` });
    if (missing.length === 0 && bad.length === 0 && raw.ALERT_SMTP_URL && raw.ALERT_EMAIL_FROM)
      channels.push({
        id: "email",
        kind: "email",
        smtpUrl: raw.ALERT_SMTP_URL,
        from: raw.ALERT_EMAIL_FROM,
        to: raw.ALERT_EMAIL_TO,
        mode: modeOf("ALERT_EMAIL_MODE", true),
      });
  }
  if (strict)
    for (const c of channels)
      if (c.kind !== "email" && c.mode === "live" && !c.url.startsWith("https:"))
        problems.push({
          variable: c.kind === "slack" ? "ALERT_SLACK_WEBHOOK_URL" : "ALERT_WEBHOOK_URL",
          message: `must be an https URL in ${mode}`,
        });

  let workingHours: WorkingHours | undefined;
  if (raw.ALERT_WORKING_HOURS !== undefined) {
    const [start = "", end = ""] = raw.ALERT_WORKING_HOURS.split("-");
    const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
    const days = parseDays(raw.ALERT_WORKING_DAYS ?? "mon-fri");
    if (!days)
      problems.push({
        variable: "ALERT_WORKING_DAYS",
        message: "must be a range like mon-fri or a list like mon,tue,thu",
      });
    else if (minutes(start) >= minutes(end))
      problems.push({
        variable: "ALERT_WORKING_HOURS",
        message: "the start must be before the end",
      });
    else
      workingHours = {
        startMinute: minutes(start),
        endMinute: minutes(end),
        days,
        timeZone: raw.ALERT_TIME_ZONE ?? "UTC",
      };
  }

  const integrations: MonitoringConfig["integrations"] = {};
  for (const id of ["slack", "webhook", "email"] as const) {
    const channel = channels.find((c) => c.id === id);
    integrations[`alerts.${id}`] = channel
      ? { mode: channel.mode, configured: true, detail: `notification channel (${channel.mode})` }
      : { mode: "off", configured: false, detail: "not configured" };
  }

  return {
    metricsToken: raw.METRICS_TOKEN,
    channels,
    integrations,
    limits: {
      hourly: raw.ALERT_LIMIT_HOURLY ?? 20,
      daily: raw.ALERT_LIMIT_DAILY ?? 100,
      perDomainHourly: raw.ALERT_LIMIT_PER_DOMAIN_HOURLY ?? 10,
    },
    workingHours,
    approvalRecipients: raw.ALERT_APPROVAL_RECIPIENTS ?? 10,
    ruleOverrides: parseRuleOverrides(raw.ALERT_RULES, problems),
    dailyBudgetUsd: raw.ALERT_DAILY_BUDGET_USD,
    syncSloMsPer1000Docs: (raw.SYNC_SLO_SECONDS_PER_1000_DOCS ?? 300) * 1000,
  };
}

/**
 * EMBEDDING_MODE: a remote provider's simulation boundary. Staging and production with a remote
 * provider must choose; elsewhere it defaults to live. The local embedder makes no request, so
 * it is live and nothing else.
 */
function embeddingModeOf(raw: Raw, mode: Mode, problems: ConfigProblem[]): IntegrationMode {
  const provider = raw.EMBEDDING_PROVIDER ?? "local";
  const value = raw.EMBEDDING_MODE;
  if (provider === "local") {
    if (value !== undefined && value !== "live")
      problems.push({
        variable: "EMBEDDING_MODE",
        message: `cannot be ${value} with EMBEDDING_PROVIDER=local: the local embedder makes no network request and is always live (unset it, or choose a remote provider)`,
      });
    return "live";
  }
  if (value !== undefined) return value;
  if (mode === "production" || mode === "staging")
    problems.push({
      variable: "EMBEDDING_MODE",
      message: `is required in ${mode} with EMBEDDING_PROVIDER=${provider}: choose live, log-only or off`,
    });
  return "live";
}
