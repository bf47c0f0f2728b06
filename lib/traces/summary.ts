import { createHash } from "node:crypto";

/**
 * A small summary of a step's input or output for its trace envelope: its shape, size and
 * hash, and the counts it carries (numbers and booleans at the top level) — never strings,
 * paths or contents. Two runs that produced the same output have the same hash.
 */
export interface ValueSummary {
  type: "null" | "undefined" | "string" | "number" | "boolean" | "array" | "object" | "other";
  /** Bytes of its JSON form. */
  bytes: number;
  /** First 16 hex digits of the SHA-256 of its JSON form. */
  sha256?: string;
  /** Array length. */
  items?: number;
  /** Object keys. */
  keys?: number;
  /** Top-level numbers and booleans (counts, flags), at most 24. */
  counts?: Record<string, number | boolean>;
}

const MAX_COUNTS = 24;
const COUNT_KEY = /^[A-Za-z][\w.-]{0,63}$/;

function jsonOf(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

export function summarize(value: unknown): ValueSummary {
  if (value === undefined) return { type: "undefined", bytes: 0 };
  if (value === null) return { type: "null", bytes: 4 };
  const json = jsonOf(value);
  const bytes = json === undefined ? 0 : Buffer.byteLength(json, "utf8");
  const sha256 =
    json === undefined ? undefined : createHash("sha256").update(json).digest("hex").slice(0, 16);
  if (typeof value === "number") return { type: "number", bytes, sha256 };
  if (typeof value === "boolean") return { type: "boolean", bytes, sha256 };
  if (typeof value === "string") return { type: "string", bytes, sha256 };
  if (Array.isArray(value)) return { type: "array", bytes, sha256, items: value.length };
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    const counts: Record<string, number | boolean> = {};
    let n = 0;
    for (const [key, v] of entries) {
      if (n >= MAX_COUNTS) break;
      if (!COUNT_KEY.test(key)) continue;
      if ((typeof v === "number" && Number.isFinite(v)) || typeof v === "boolean") {
        counts[key] = v;
        n++;
      } else if (Array.isArray(v)) {
        counts[`${key}.length`] = v.length;
        n++;
      }
    }
    return {
      type: "object",
      bytes,
      sha256,
      keys: entries.length,
      ...(n > 0 ? { counts } : {}),
    };
  }
  return { type: "other", bytes, sha256 };
}
