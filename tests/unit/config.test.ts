import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  ConfigError,
  loadConfig,
  parseConfig,
  redactedConfig,
  summaryLines,
  VARIABLES,
} from "../../lib/config";

const PRODUCTION_REQUIRED = [
  "DATABASE_URL",
  "UPSTASH_REDIS_REST_URL",
  "UPSTASH_REDIS_REST_TOKEN",
  "S3_BUCKET",
  "INNGEST_EVENT_KEY",
  "INNGEST_SIGNING_KEY",
];

const goodProduction = {
  BALLAST_ENV: "production",
  DATABASE_URL:
    "postgresql://app:s3cretPassw0rd@ep-cool-1234.us-east-2.aws.neon.tech/ballast?sslmode=require",
  UPSTASH_REDIS_REST_URL: "https://eu1-fancy-12345.upstash.io",
  UPSTASH_REDIS_REST_TOKEN: "AXXXupstash-token-value-1234567890",
  S3_BUCKET: "ballast-archive",
  S3_REGION: "eu-west-1",
  INNGEST_EVENT_KEY: "evt-key-0123456789abcdef",
  INNGEST_SIGNING_KEY: "signkey-prod-0123456789abcdef0123456789abcdef",
};

describe("configuration", () => {
  it("defaults to development on the embedded backends when nothing is set", () => {
    const config = loadConfig({});
    expect(config.mode).toBe("development");
    expect(config.database.driver).toBe("pglite");
    expect(config.redis.backend).toBe("memory");
    expect(config.redis.required).toBe(false);
    expect(config.archive.backend).toBe("folder");
    // Dev mode (unsigned requests) is never a default: only when asked for.
    expect(config.inngest.dev).toBe(false);
    expect(config.security).toEqual({
      sourceLocalRoots: [],
      outboundAllowHosts: [],
      outboundAllowPrivate: false,
      outboundHttpsOnly: false,
      trustedProxies: [],
    });
    expect(config.embedding.provider).toBe("local");
    const lines = summaryLines(config);
    expect(lines).toHaveLength(7);
    expect(lines.join("\n")).toMatch(/outbound: alerts\.slack off \(not configured\)/);
    expect(lines.join("\n")).toMatch(/database: PGlite.*embedded/);
    expect(lines.join("\n")).toMatch(/redis: in-process store/);
    expect(lines.join("\n")).toMatch(/archive: folder \(embedded\)/);
  });

  it("ignores NODE_ENV (next start sets it) and maps VERCEL_ENV when BALLAST_ENV is unset", () => {
    expect(loadConfig({ NODE_ENV: "production" }).mode).toBe("development");
    expect(parseConfig({ VERCEL_ENV: "preview" }).ok).toBe(false); // staging needs real backends
    const staging = parseConfig({ VERCEL_ENV: "preview" });
    expect(staging.ok ? "" : staging.mode).toBe("staging");
    const { BALLAST_ENV: _unset, ...vercel } = goodProduction;
    expect(loadConfig({ ...vercel, VERCEL_ENV: "production" }).mode).toBe("production");
  });

  it("names every missing production variable at once", () => {
    const result = parseConfig({}, { mode: "production" });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const named = result.problems.map((p) => p.variable);
    for (const variable of PRODUCTION_REQUIRED) expect(named).toContain(variable);
    expect(() => loadConfig({ BALLAST_ENV: "production" })).toThrow(ConfigError);
    try {
      loadConfig({ BALLAST_ENV: "production" });
    } catch (error) {
      for (const variable of PRODUCTION_REQUIRED)
        expect((error as Error).message).toContain(variable);
    }
  });

  it("accepts a complete production configuration and picks the Neon driver for a neon.tech URL", () => {
    const config = loadConfig(goodProduction);
    expect(config.database.driver).toBe("neon");
    expect(config.redis.backend).toBe("upstash");
    expect(config.redis.required).toBe(true);
    expect(config.inngest.dev).toBe(false);
    expect(
      loadConfig({ ...goodProduction, DATABASE_URL: "postgres://u:p@db.internal:5432/x" }).database
        .driver,
    ).toBe("pg");
  });

  it("rejects malformed values, naming the variable, and treats empty strings as unset", () => {
    const result = parseConfig({
      BALLAST_ENV: "prod",
      DATABASE_URL: "mysql://nope",
      EMBEDDING_DIMENSIONS: "5000",
      CHUNK_SIZE: "abc",
      REDIS_REQUIRED: "maybe",
      S3_BUCKET: "Bad_Bucket",
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const named = result.problems.map((p) => p.variable);
    expect(named).toEqual(
      expect.arrayContaining([
        "BALLAST_ENV",
        "DATABASE_URL",
        "EMBEDDING_DIMENSIONS",
        "CHUNK_SIZE",
        "REDIS_REQUIRED",
        "S3_BUCKET",
      ]),
    );
    expect(loadConfig({ DATABASE_URL: "", S3_BUCKET: "  " }).database.driver).toBe("pglite");
  });

  it("refuses REDIS_REQUIRED=true without Upstash in every mode", () => {
    for (const mode of ["development", "test"]) {
      const result = parseConfig({ BALLAST_ENV: mode, REDIS_REQUIRED: "true" });
      expect(result.ok).toBe(false);
      if (!result.ok)
        expect(result.problems.map((p) => p.variable)).toContain("UPSTASH_REDIS_REST_URL");
    }
    const prod = parseConfig({ ...goodProduction, REDIS_REQUIRED: "false" });
    expect(prod.ok).toBe(false);
  });

  it("requires the provider key for remote embedders and forbids INNGEST_DEV in production", () => {
    const openai = parseConfig({ EMBEDDING_PROVIDER: "openai" });
    expect(openai.ok ? [] : openai.problems.map((p) => p.variable)).toContain("OPENAI_API_KEY");
    const dev = parseConfig({ ...goodProduction, INNGEST_DEV: "1" });
    expect(dev.ok ? [] : dev.problems.map((p) => p.variable)).toContain("INNGEST_DEV");
  });

  it("runs Inngest in dev mode only when asked for and no signing key is configured", () => {
    expect(loadConfig({}).inngest.dev).toBe(false);
    expect(loadConfig({ INNGEST_DEV: "1" }).inngest.dev).toBe(true);
    expect(loadConfig({ INNGEST_DEV: "http://127.0.0.1:8288" }).inngest).toMatchObject({
      dev: true,
      devServerUrl: "http://127.0.0.1:8288",
    });
    expect(loadConfig({ INNGEST_DEV: "0" }).inngest.dev).toBe(false);
    const signed = loadConfig({ INNGEST_SIGNING_KEY: goodProduction.INNGEST_SIGNING_KEY });
    expect(signed.inngest.dev).toBe(false);
    for (const mode of ["development", "test"]) {
      const both = parseConfig({
        BALLAST_ENV: mode,
        INNGEST_DEV: "1",
        INNGEST_SIGNING_KEY: goodProduction.INNGEST_SIGNING_KEY,
      });
      expect(both.ok ? "" : both.problems.map((p) => p.message).join()).toMatch(
        /cannot be set together with INNGEST_SIGNING_KEY/,
      );
    }
    const origin = parseConfig({ ...goodProduction, INNGEST_SERVE_ORIGIN: "http://app.example" });
    expect(origin.ok ? [] : origin.problems.map((p) => p.variable)).toContain(
      "INNGEST_SERVE_ORIGIN",
    );
    expect(
      loadConfig({ ...goodProduction, INNGEST_SERVE_ORIGIN: "https://app.example.com/" }).inngest
        .serveOrigin,
    ).toBe("https://app.example.com");
  });

  it("reads the security settings and refuses unsafe ones", () => {
    const config = loadConfig({
      SOURCE_LOCAL_ROOTS: "/srv/repos, /home/me/code/",
      OUTBOUND_ALLOW_HOSTS: "git.internal, 10.1.2.0/24,::1",
      OUTBOUND_ALLOW_PRIVATE: "true",
      TRUSTED_PROXIES: "127.0.0.1, 10.0.0.0/8",
    });
    expect(config.security).toEqual({
      sourceLocalRoots: ["/srv/repos", "/home/me/code"],
      outboundAllowHosts: ["git.internal", "10.1.2.0/24", "::1"],
      outboundAllowPrivate: true,
      outboundHttpsOnly: false,
      trustedProxies: ["127.0.0.1", "10.0.0.0/8"],
    });
    expect(loadConfig({ TRUSTED_PROXIES: "Vercel" }).security.trustedProxies).toBe("vercel");
    const { BALLAST_ENV: _unset, ...vercel } = goodProduction;
    const onVercel = loadConfig({ ...vercel, VERCEL_ENV: "production" });
    expect(onVercel.security).toMatchObject({ trustedProxies: "vercel", outboundHttpsOnly: true });
    const bad = parseConfig({
      SOURCE_LOCAL_ROOTS: "relative/dir,/",
      OUTBOUND_ALLOW_HOSTS: "not a host!",
      TRUSTED_PROXIES: "proxy.example.com",
    });
    expect(bad.ok ? [] : bad.problems.map((p) => `${p.variable}: ${p.message}`)).toEqual([
      "SOURCE_LOCAL_ROOTS: relative/dir is not an absolute path",
      "SOURCE_LOCAL_ROOTS: must not contain the filesystem root (that would allow every path)",
      "OUTBOUND_ALLOW_HOSTS: not a host!: not a host name, IP address or CIDR",
      "TRUSTED_PROXIES: proxy.example.com is not an IP address or CIDR (or the single word vercel)",
    ]);
    const prod = parseConfig({ ...goodProduction, OUTBOUND_ALLOW_PRIVATE: "true" });
    expect(prod.ok ? [] : prod.problems.map((p) => p.variable)).toEqual(["OUTBOUND_ALLOW_PRIVATE"]);
  });

  it("redacts every secret from the effective configuration", () => {
    const config = loadConfig({
      ...goodProduction,
      GITHUB_WEBHOOK_SECRET: "whsec-very-secret-value",
      OPENAI_API_KEY: "sk-live-abcdefghijklmnopqrstuvwxyz",
    });
    const text = JSON.stringify(redactedConfig(config));
    for (const secret of config.secrets) expect(text).not.toContain(secret);
    expect(text).not.toContain("s3cretPassw0rd");
    expect(config.secrets).toContain("s3cretPassw0rd");
  });

  it("documents every variable it reads in .env.example", () => {
    const example = readFileSync(path.resolve(".env.example"), "utf8");
    for (const name of Object.keys(VARIABLES))
      expect(example, `${name} missing from .env.example`).toMatch(
        new RegExp(`^#?\\s*${name}=`, "m"),
      );
  });
});

describe("the house rule: only lib/config/env.ts reads process.env", () => {
  const roots = [
    "app",
    "lib",
    "inngest",
    "db",
    "bin",
    "scripts",
    "bench",
    "instrumentation.ts",
    "next.config.js",
    "drizzle.config.ts",
  ];
  const allowed = new Set([path.join("lib", "config", "env.ts")]);

  function files(entry: string): string[] {
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(entry);
    } catch {
      return [];
    }
    if (stat.isFile()) return /\.(ts|tsx|js|mjs|cjs)$/.test(entry) ? [entry] : [];
    return readdirSync(entry).flatMap((name) =>
      name === "node_modules" || name === ".next" ? [] : files(path.join(entry, name)),
    );
  }

  it("finds no other reader", () => {
    const offenders = roots
      .flatMap(files)
      .filter((file) => !allowed.has(file))
      .filter((file) => {
        // Next inlines NEXT_RUNTIME at build time; instrumentation.ts uses it to keep Node code out of the edge bundle.
        const text = readFileSync(file, "utf8").replace(/process\.env\.NEXT_RUNTIME\b/g, "");
        return /process\.env\b|process\[["']env["']\]/.test(text);
      });
    expect(offenders).toEqual([]);
  });
});
