import { readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { type EnvSource, processEnv } from "./env";
import { type Config, ConfigError, type Mode, type ParseOptions, parseConfig } from "./schema";

export { type EnvSource, processEnv, setFrameworkEnvDefaults } from "./env";
export * from "./schema";

const cache = globalThis as unknown as { __ballastConfig?: Config };

/** The configuration of this process, validated once; throws ConfigError naming every problem. */
export function getConfig(): Config {
  cache.__ballastConfig ??= loadConfig(processEnv());
  return cache.__ballastConfig;
}

export function loadConfig(env: EnvSource, options?: ParseOptions): Config {
  const result = parseConfig(env, options);
  if (!result.ok) throw new ConfigError(result.mode, result.problems);
  return result.config;
}

/** Reads a dotenv file (KEY=value lines) without touching the process environment. */
export function readEnvFile(file: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(
      `cannot read env file ${file}: ${(error as NodeJS.ErrnoException).code ?? "unknown error"}`,
    );
  }
  return parseEnv(text) as Record<string, string>;
}

export function isStrictMode(mode: Mode): boolean {
  return mode === "production" || mode === "staging";
}

/** One line per part saying which backend it uses, printed at start-up. */
export function summaryLines(config: Config): string[] {
  const db = config.database;
  const database =
    db.driver === "pglite"
      ? `PGlite with pgvector (embedded) at ${db.pgliteDir}`
      : `${db.driver === "neon" ? "Neon serverless driver" : "node-postgres"} → ${hostOf(db.url)}`;
  const redis =
    config.redis.backend === "upstash"
      ? `Upstash Redis → ${hostOf(config.redis.url)}`
      : "in-process store (embedded; REDIS_REQUIRED=false; not shared between processes)";
  const archive =
    config.archive.backend === "s3" && config.archive.s3
      ? `S3 bucket ${config.archive.s3.bucket} (${config.archive.s3.endpoint ? hostOf(config.archive.s3.endpoint) : `aws ${config.archive.s3.region}`}) prefix ${config.archive.s3.prefix || "(none)"}`
      : `folder (embedded) at ${config.archive.dir}`;
  const inngest = config.inngest.dev
    ? `dev mode (INNGEST_DEV), unsigned requests (dev server ${config.inngest.devServerUrl ?? "http://localhost:8288"}; the CLI runs the pipeline without it)`
    : config.inngest.signingKey
      ? `cloud mode, signed requests${config.inngest.baseUrl ? ` → ${hostOf(config.inngest.baseUrl)}` : ""}`
      : "off (no INNGEST_SIGNING_KEY, no INNGEST_DEV): events wait in the outbox, the CLI runs the pipeline, /api/inngest answers 503";
  const embedding =
    config.embedding.provider === "local"
      ? `local deterministic embedder ${config.embedding.model} (${config.embedding.dimensions} dimensions, no network)`
      : `${config.embedding.provider} ${config.embedding.model} (${config.embedding.dimensions} dimensions, ${config.embedding.mode})`;
  return [
    `ballast: mode ${config.mode}`,
    `ballast: database: ${database}`,
    `ballast: redis: ${redis}`,
    `ballast: archive: ${archive}`,
    `ballast: inngest: ${inngest}`,
    `ballast: embedding: ${embedding}`,
    `ballast: outbound: ${outboundModes(config)}`,
  ];
}

/** Every outbound integration and its mode (live, log-only, off): the simulation boundary. */
export function outboundModes(config: Config): string {
  return Object.entries(config.monitoring.integrations)
    .map(([name, i]) => `${name} ${i.configured ? i.mode : "off (not configured)"}`)
    .join(", ");
}

/** The effective configuration with every secret replaced, for the admin API and the CLI. */
export function redactedConfig(config: Config): unknown {
  const secret = (value: string | undefined) => (value === undefined ? null : "[redacted]");
  return {
    mode: config.mode,
    dataDir: config.dataDir,
    logLevel: config.logLevel,
    database: {
      driver: config.database.driver,
      url: config.database.url ? redactUrl(config.database.url) : null,
      pgliteDir: config.database.driver === "pglite" ? config.database.pgliteDir : null,
    },
    redis: {
      backend: config.redis.backend,
      required: config.redis.required,
      url: config.redis.url ?? null,
      token: secret(config.redis.token),
    },
    archive: {
      backend: config.archive.backend,
      dir: config.archive.backend === "folder" ? config.archive.dir : null,
      s3: config.archive.s3
        ? {
            ...config.archive.s3,
            accessKeyId: config.archive.s3.accessKeyId ?? null,
            secretAccessKey: secret(config.archive.s3.secretAccessKey),
          }
        : null,
    },
    inngest: {
      appId: config.inngest.appId,
      dev: config.inngest.dev,
      devServerUrl: config.inngest.devServerUrl ?? null,
      baseUrl: config.inngest.baseUrl ?? null,
      runner: config.inngest.runner,
      serveOrigin: config.inngest.serveOrigin ?? null,
      eventKey: secret(config.inngest.eventKey),
      signingKey: secret(config.inngest.signingKey),
      signingKeyFallback: secret(config.inngest.signingKeyFallback),
    },
    github: {
      apiUrl: config.github.apiUrl,
      appId: config.github.appId ?? null,
      token: secret(config.github.token),
      privateKey: secret(config.github.privateKey),
      webhookSecret: secret(config.github.webhookSecret),
    },
    embedding: {
      provider: config.embedding.provider,
      model: config.embedding.model,
      dimensions: config.embedding.dimensions,
      batchSize: config.embedding.batchSize,
      mode: config.embedding.mode,
      costPerMillionTokens: config.embedding.costPerMillionTokens ?? null,
      openai: {
        baseUrl: config.embedding.openai.baseUrl,
        apiKey: secret(config.embedding.openai.apiKey),
      },
      cohere: {
        baseUrl: config.embedding.cohere.baseUrl,
        apiKey: secret(config.embedding.cohere.apiKey),
      },
    },
    chunking: config.chunking,
    sync: config.sync,
    webhooks: config.webhooks,
    search: config.search,
    security: config.security,
  };
}

export function redactUrl(value: string): string {
  try {
    const parsed = new URL(value);
    if (parsed.password) parsed.password = "redacted";
    return parsed.toString();
  } catch {
    return "[unparseable url]";
  }
}

function hostOf(value: string | undefined): string {
  if (!value) return "(unset)";
  try {
    return new URL(value).host;
  } catch {
    return "(unparseable)";
  }
}

/** For tests: forget the cached configuration so the next getConfig() reads the environment again. */
export function resetConfigCache(): void {
  cache.__ballastConfig = undefined;
}
