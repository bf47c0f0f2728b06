import type { Database } from "../db/client";

/**
 * Time by SQL statement inside PGlite (with `--profile`). PGlite runs in this thread, so a CPU
 * profile shows its time as anonymous wasm functions; this attributes it to statements instead.
 * It wraps the PGlite instance's `execProtocolRaw` (every wire-protocol round trip, including
 * the sync to the data directory) and labels each round trip with the text of the last Parse
 * ('P') or simple Query ('Q') message. Only observes; the pipeline's calls are unchanged.
 */

interface RawProtocol {
  execProtocolRaw(message: Uint8Array, options?: unknown): Promise<Uint8Array>;
}

export interface SqlTimingEntry {
  statement: string;
  calls: number;
  ms: number;
}

export class SqlTimer {
  private readonly totals = new Map<string, { calls: number; ms: number }>();
  private current = "(before the first statement)";
  private restore: (() => void) | undefined;
  private enabled = false;

  /** Wraps the PGlite client under a drizzle database; false when the driver is not PGlite. */
  attach(db: Database): boolean {
    const client = (db as unknown as { $client?: Partial<RawProtocol> }).$client;
    if (!client || typeof client.execProtocolRaw !== "function") return false;
    const target = client as RawProtocol;
    const original = target.execProtocolRaw;
    target.execProtocolRaw = async (message, options) => {
      if (!this.enabled) return original.call(target, message, options);
      const label = statementOf(message);
      if (label) this.current = label;
      const key = this.current;
      const started = performance.now();
      try {
        return await original.call(target, message, options);
      } finally {
        const entry = this.totals.get(key) ?? { calls: 0, ms: 0 };
        entry.ms += performance.now() - started;
        if (label) entry.calls++;
        this.totals.set(key, entry);
      }
    };
    this.restore = () => {
      target.execProtocolRaw = original;
    };
    return true;
  }

  start(): void {
    this.totals.clear();
    this.enabled = true;
  }

  stop(top = 15): SqlTimingEntry[] {
    this.enabled = false;
    return [...this.totals.entries()]
      .map(([statement, t]) => ({ statement, calls: t.calls, ms: Math.round(t.ms) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top);
  }

  detach(): void {
    this.restore?.();
    this.restore = undefined;
  }
}

const decoder = new TextDecoder();

/** The SQL text of a Parse or Query message at the start of the buffer, shortened. */
function statementOf(message: Uint8Array): string | undefined {
  const type = message[0];
  let start: number;
  if (type === 0x51)
    start = 5; // Query: 'Q' int32 text\0
  else if (type === 0x50) {
    // Parse: 'P' int32 name\0 text\0 …
    const nameEnd = message.indexOf(0, 5);
    if (nameEnd < 0) return undefined;
    start = nameEnd + 1;
  } else return undefined;
  const end = message.indexOf(0, start);
  const text = decoder.decode(
    message.subarray(
      start,
      end < 0 ? Math.min(message.length, start + 400) : Math.min(end, start + 400),
    ),
  );
  return text.replace(/\s+/g, " ").trim().slice(0, 90);
}
