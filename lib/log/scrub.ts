/**
 * Value-based secret scrubbing for anything that leaves the process as text:
 * log lines, error messages, trace payloads. Known secret values are replaced
 * wherever they appear (raw or JSON-escaped), and so are the shapes of
 * credentials Ballast handles even when it does not know their value.
 */
const PATTERNS: RegExp[] = [
  /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/g,
  /\bblst_[A-Za-z0-9]+_[A-Za-z0-9_-]{16,}/g, // Ballast admin API keys
  /\bsignkey-[a-z]+-[0-9a-f]{16,}/gi, // Inngest signing keys
  /\bsk-[A-Za-z0-9_-]{16,}/g, // OpenAI-style keys
  /\bgh[pousr]_[A-Za-z0-9]{20,}/g, // GitHub tokens
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  /(?<=:\/\/[^:/@\s]+:)[^@\s/]+(?=@)/g, // passwords in URLs
  /(?<=\b(?:https?|git|ftps?):\/\/)[^:/@\s]+(?=@)/gi, // a token as the user name of an http(s)/git URL
  /\b(?:Basic|token|Token)\s+[A-Za-z0-9._~+/=-]{12,}/g, // other Authorization schemes
  /\bAKIA[0-9A-Z]{16}\b/g, // AWS access key ids
  // key=value and "key": "value" forms of credentials (query strings, headers, JSON, env lines)
  /(?<=\b(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|secret[_-]?access[_-]?key|client[_-]?secret|private[_-]?key|authorization|x-api-key|access_token|refresh_token|signature)["']?\s*[:=]\s*["']?)[^\s"'&,;}]{4,}/gi,
  // email addresses (personal data)
  // (not git@host, the user of SSH remotes)
  /(?<![\w.%+-])(?!git@)[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b/g,
];

export const REDACTED = "[REDACTED]";

export function createScrubber(secrets: readonly string[]): (text: string) => string {
  const needles = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < 6) continue; // too short to scrub without mangling ordinary text
    needles.add(secret);
    const escaped = JSON.stringify(secret).slice(1, -1);
    needles.add(escaped);
    needles.add(JSON.stringify(escaped).slice(1, -1));
  }
  const ordered = [...needles].sort((a, b) => b.length - a.length);
  return (text: string) => {
    let out = text;
    for (const needle of ordered) if (out.includes(needle)) out = out.split(needle).join(REDACTED);
    for (const pattern of PATTERNS) out = out.replace(pattern, REDACTED);
    return out;
  };
}

/**
 * Field names whose values are credentials whatever they hold (headers, options, payloads):
 * authorization, cookie, password, secret, token, any kind of key, credentials, signature.
 */
const SECRET_FIELD =
  /^(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-hub-signature(?:-256)?|password|passwd|pwd|secret|client_?secret|token|access_?token|refresh_?token|id_?token|api_?key|apikey|access_?key(?:_?id)?|secret_?access_?key|private_?key|signing_?key|event_?key|webhook_?secret|credentials?|signature|session|sessionid)$/i;

export function isSecretField(name: string): boolean {
  return SECRET_FIELD.test(name.replace(/-/g, "_")) || SECRET_FIELD.test(name);
}

/**
 * Redacts a value deeply before it is stored or exported: every field whose name says it holds
 * a credential is replaced, every string is scrubbed (known secret values, credential shapes,
 * credentials in URLs, email addresses), including object keys. Returns a new value (plain
 * JSON: dates become ISO strings; functions, symbols and cycles are dropped), at most `maxDepth`
 * levels deep.
 */
export function createDeepRedactor(
  scrub: (text: string) => string,
  options: { maxDepth?: number } = {},
): (value: unknown) => unknown {
  const maxDepth = options.maxDepth ?? 8;
  const walk = (value: unknown, depth: number, seen: Set<object>): unknown => {
    if (value === null || value === undefined) return value;
    if (typeof value === "string") return scrub(value);
    if (typeof value === "number" || typeof value === "boolean") return value;
    if (typeof value === "bigint") return value.toString();
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
    if (typeof value !== "object") return undefined;
    if (depth >= maxDepth) return "[TRUNCATED]";
    if (seen.has(value)) return "[CYCLE]";
    seen.add(value);
    try {
      if (Array.isArray(value)) return value.map((item) => walk(item, depth + 1, seen) ?? null);
      if (value instanceof Error) return { name: scrub(value.name), message: scrub(value.message) };
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        const safeKey = scrub(key);
        if (isSecretField(key)) {
          out[safeKey] = item === null || item === undefined || item === "" ? item : REDACTED;
          continue;
        }
        const next = walk(item, depth + 1, seen);
        if (next !== undefined) out[safeKey] = next;
      }
      return out;
    } finally {
      seen.delete(value);
    }
  };
  return (value) => walk(value, 0, new Set());
}
