import type { Random } from "./random";

/**
 * Words the generated code and prose are built from. Identifiers are combinations of these
 * (verb + adjective? + noun + noun?), so most identifiers in the corpus are distinct while
 * still reading like real code.
 */

export const NOUNS = [
  "account", "address", "adapter", "alert", "allocation", "archive", "artifact", "asset",
  "attachment", "audit", "backlog", "balance", "batch", "bucket", "budget", "buffer", "bundle",
  "cache", "calendar", "campaign", "candidate", "capacity", "cart", "catalog", "category",
  "certificate", "channel", "checkout", "checksum", "claim", "client", "cluster", "cohort",
  "comment", "commit", "component", "config", "connection", "consumer", "contract", "coupon",
  "credential", "cursor", "customer", "dashboard", "dataset", "deadline", "delivery",
  "dependency", "deployment", "device", "digest", "discount", "dispatch", "document", "domain",
  "draft", "endpoint", "entry", "envelope", "event", "exchange", "export", "feature", "feed",
  "filter", "fixture", "flag", "forecast", "fragment", "gateway", "grant", "graph", "handler",
  "header", "heartbeat", "history", "hook", "identity", "image", "import", "incident", "index",
  "inventory", "invoice", "issue", "job", "journal", "key", "label", "ledger", "lease", "limit",
  "listing", "locale", "lock", "manifest", "mapping", "member", "merchant", "message", "metric",
  "migration", "mirror", "module", "monitor", "namespace", "node", "notification", "offset",
  "order", "origin", "outbox", "owner", "package", "page", "partition", "payload", "payment",
  "payout", "permission", "pipeline", "plan", "policy", "pool", "portfolio", "preference",
  "price", "profile", "project", "promotion", "provider", "quota", "queue", "receipt", "record",
  "refund", "region", "registry", "release", "replica", "report", "repository", "request",
  "reservation", "resource", "response", "revision", "role", "route", "rule", "schedule",
  "schema", "scope", "secret", "segment", "sensor", "session", "shard", "shipment", "signal",
  "snapshot", "source", "span", "stage", "statement", "subscription", "summary", "supplier",
  "tag", "task", "team", "template", "tenant", "threshold", "ticket", "timeline", "token",
  "topic", "trace", "transaction", "transfer", "trigger", "upload", "usage", "user", "vault",
  "vendor", "version", "viewport", "voucher", "warehouse", "webhook", "widget", "window",
  "workflow", "workspace", "zone",
] as const;

export const VERBS = [
  "accept", "acquire", "activate", "aggregate", "allocate", "apply", "approve", "archive",
  "assign", "attach", "authorize", "backfill", "build", "calculate", "cancel", "capture",
  "check", "claim", "clear", "close", "collect", "commit", "compact", "compare", "compile",
  "compute", "confirm", "connect", "convert", "copy", "create", "decode", "delete", "deliver",
  "derive", "detect", "dispatch", "drain", "emit", "enable", "encode", "enqueue", "ensure",
  "estimate", "evaluate", "expand", "expire", "export", "extract", "fetch", "filter", "find",
  "flush", "format", "generate", "group", "handle", "hydrate", "import", "index", "inspect",
  "invalidate", "issue", "join", "load", "lookup", "map", "mark", "merge", "migrate",
  "normalize", "notify", "open", "parse", "patch", "persist", "poll", "prepare", "prune",
  "publish", "purge", "queue", "rank", "read", "rebuild", "reconcile", "record", "redact",
  "refresh", "register", "reject", "release", "remove", "render", "renew", "replay", "report",
  "reserve", "reset", "resolve", "restore", "retry", "revoke", "rotate", "route", "sample",
  "save", "scan", "schedule", "score", "seal", "select", "send", "serialize", "settle", "shard",
  "sign", "snapshot", "sort", "split", "stage", "start", "stop", "store", "stream", "submit",
  "summarize", "sync", "tag", "throttle", "track", "transform", "trim", "unlock", "update",
  "upload", "upsert", "validate", "verify", "watch", "wrap", "write",
] as const;

export const ADJECTIVES = [
  "active", "async", "batched", "cached", "canonical", "cold", "composite", "current",
  "default", "deferred", "delayed", "dirty", "draft", "effective", "encrypted", "expired",
  "external", "failed", "final", "global", "hidden", "idle", "incoming", "initial", "internal",
  "latest", "legacy", "local", "locked", "manual", "missing", "nested", "next", "offline",
  "optional", "orphaned", "outgoing", "partial", "paused", "pending", "previous", "primary",
  "private", "public", "queued", "raw", "recent", "remote", "resolved", "scheduled", "secondary",
  "shared", "signed", "stale", "static", "strict", "temporary", "trusted", "unique", "valid",
  "verified", "virtual", "warm",
] as const;

export const PROSE_VERBS = [
  "handles", "stores", "validates", "tracks", "schedules", "rejects", "accepts", "records",
  "returns", "caches", "retries", "publishes", "reconciles", "merges", "splits", "normalizes",
  "forwards", "exposes", "owns", "limits", "checks", "reads", "writes", "updates",
] as const;

export const CONNECTIVES = [
  "before", "after", "while", "unless", "when", "once", "because", "so that", "even if",
  "as soon as", "whenever", "until",
] as const;

export const QUALIFIERS = [
  "in most deployments", "under load", "during a rollout", "for each tenant",
  "in the background", "at most once", "within the same transaction", "on the next request",
  "without blocking the caller", "for backwards compatibility", "in staging only",
  "per region", "after a restart", "when the feature flag is on", "for large accounts",
  "inside the worker", "behind the gateway", "on the hot path",
] as const;

export const TOPICS = [
  "Overview", "Getting started", "Configuration", "Architecture", "Data model", "Error handling",
  "Retries and backoff", "Rate limits", "Observability", "Deployment", "Migrations", "Security",
  "Troubleshooting", "Performance", "Testing", "Release process", "API reference", "Examples",
  "Known issues", "Design decisions", "Operations", "Runbook", "FAQ", "Glossary", "Roadmap",
  "Limitations", "Upgrading", "Monitoring", "Alerts", "Caching", "Consistency", "Idempotency",
] as const;

export const PEOPLE = [
  "the platform team", "operators", "the on-call engineer", "reviewers", "the billing service",
  "downstream consumers", "the scheduler", "the admin UI", "integrators", "the support team",
] as const;

const cap = (w: string) => (w.length === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1));

export function capitalize(word: string): string {
  return cap(word);
}

/** Words of an identifier, e.g. ["refresh", "stale", "session", "token"]. */
export function identifierWords(rng: Random, kind: "function" | "type" | "value"): string[] {
  const words: string[] = [];
  if (kind === "function") words.push(rng.pick(VERBS));
  if (rng.chance(0.35)) words.push(rng.pick(ADJECTIVES));
  words.push(rng.pick(NOUNS));
  if (rng.chance(kind === "type" ? 0.55 : 0.3)) words.push(rng.pick(NOUNS));
  return words;
}

export const camel = (words: string[]) =>
  words.map((w, i) => (i === 0 ? w : cap(w))).join("");
export const pascal = (words: string[]) => words.map(cap).join("");
export const snake = (words: string[]) => words.join("_");
export const upperSnake = (words: string[]) => words.join("_").toUpperCase();

/** One sentence of technical prose. */
export function sentence(rng: Random, subject?: string): string {
  const noun = () => `${rng.chance(0.3) ? `${rng.pick(ADJECTIVES)} ` : ""}${rng.pick(NOUNS)}`;
  const who = subject ?? `The ${noun()}`;
  const shapes = [
    () => `${who} ${rng.pick(PROSE_VERBS)} the ${noun()} ${rng.pick(CONNECTIVES)} the ${noun()} is ${rng.pick(ADJECTIVES)}`,
    () => `${who} ${rng.pick(PROSE_VERBS)} every ${noun()} ${rng.pick(QUALIFIERS)}`,
    () => `If the ${noun()} is ${rng.pick(ADJECTIVES)}, ${who.toLowerCase()} ${rng.pick(PROSE_VERBS)} it and ${rng.pick(PROSE_VERBS)} the ${noun()}`,
    () => `${cap(rng.pick(PEOPLE))} can ${rng.pick(VERBS)} a ${noun()} ${rng.pick(QUALIFIERS)}`,
    () => `${who} never ${rng.pick(PROSE_VERBS).replace(/s$/, "")}s a ${noun()} twice, ${rng.pick(QUALIFIERS)}`,
    () => `Use \`${camel(identifierWords(rng, "function"))}\` to ${rng.pick(VERBS)} the ${noun()} ${rng.pick(CONNECTIVES)} ${rng.pick(PEOPLE)} ${rng.pick(VERBS)} it`,
    () => `At most ${rng.int(2, 500)} ${rng.pick(NOUNS)}s are kept per ${rng.pick(NOUNS)}; older ones are ${rng.pick(ADJECTIVES)}`,
    () => `${who} takes about ${rng.int(2, 900)} ms ${rng.pick(QUALIFIERS)}`,
  ];
  return `${rng.pick(shapes)()}.`;
}

export function paragraph(rng: Random, sentences: number, subject?: string): string {
  const out: string[] = [];
  for (let i = 0; i < sentences; i++) out.push(sentence(rng, i === 0 ? subject : undefined));
  return out.join(" ");
}

/** Wraps text to `width` columns. */
export function wrap(text: string, width: number, prefix = ""): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line.length > 0 && prefix.length + line.length + 1 + word.length > width) {
      lines.push(prefix + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(prefix + line);
  return lines;
}
