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
