/**
 * An in-process keyspace with Redis semantics for the few commands Ballast uses (strings with
 * PX/NX, INCRBY, PEXPIRE, PTTL, DEL, HMGET/HSET). Every operation is synchronous, so each one
 * is atomic with respect to the others, like a command in Redis.
 *
 * It lives in this process only: it is NOT shared between processes (a Next.js server and a CLI
 * run each have their own), and it is lost on restart. That is why production requires Upstash
 * (REDIS_REQUIRED) and this store is the development/test default only.
 *
 * Expiry follows Redis: a key with an expiry time `t` is still alive at `t` and gone after it.
 * Expired keys are dropped when touched and by a sweep every few hundred writes.
 */
import { ConflictError } from "../errors";

type Entry =
  | { kind: "string"; value: string; expiresAt: number | null }
  | { kind: "hash"; fields: Map<string, string>; expiresAt: number | null };

export interface MemoryKeyspaceOptions {
  /** The clock, in epoch milliseconds (injectable for tests). Default: Date.now() at each call, so fake timers apply. */
  now?: () => number;
}

const SWEEP_EVERY_WRITES = 512;
const INTEGER = /^(0|-?[1-9][0-9]*)$/;

function wrongType(key: string): ConflictError {
  return new ConflictError(
    `redis key ${JSON.stringify(key)} holds a value of another type (WRONGTYPE)`,
    "redis_wrong_type",
  );
}

export class MemoryKeyspace {
  readonly now: () => number;
  private readonly entries = new Map<string, Entry>();
  private writesSinceSweep = 0;

  constructor(options: MemoryKeyspaceOptions = {}) {
    this.now = options.now ?? (() => Date.now());
  }

  /** Live keys, sorted: for inspection in tests and tools. */
  keys(): string[] {
    const now = this.now();
    const live: string[] = [];
    for (const [key, entry] of this.entries) {
      if (!this.isExpired(entry, now)) live.push(key);
    }
    return live.sort();
  }

  /** Drops every key. */
  clear(): void {
    this.entries.clear();
  }

  getString(key: string): string | null {
    const entry = this.lookup(key);
    if (!entry) return null;
    if (entry.kind !== "string") throw wrongType(key);
    return entry.value;
  }

  /** SET key value [PX ttlMs] [NX]; returns false when NX and the key exists. */
  setString(key: string, value: string, options: { ttlMs?: number; nx?: boolean } = {}): boolean {
    if (options.nx && this.lookup(key)) return false;
    const expiresAt = options.ttlMs === undefined ? null : this.now() + options.ttlMs;
    this.write(key, { kind: "string", value, expiresAt });
    return true;
  }

  exists(key: string): boolean {
    return this.lookup(key) !== undefined;
  }

  del(key: string): boolean {
    const existed = this.lookup(key) !== undefined;
    this.entries.delete(key);
    return existed;
  }

  /** INCRBY: a missing key counts from 0 and gets no expiry; the TTL of an existing one is kept. */
  incrBy(key: string, by: number): number {
    const entry = this.lookup(key);
    if (entry && entry.kind !== "string") throw wrongType(key);
    const current = entry ? entry.value : "0";
    if (!INTEGER.test(current) || !Number.isSafeInteger(Number(current))) {
      throw new ConflictError(
        `redis key ${JSON.stringify(key)} does not hold an integer (value is not an integer or out of range)`,
        "redis_wrong_type",
      );
    }
    const next = Number(current) + by;
    if (!Number.isSafeInteger(next)) {
      throw new ConflictError(
        `incrementing redis key ${JSON.stringify(key)} would overflow`,
        "redis_wrong_type",
      );
    }
    this.write(key, { kind: "string", value: String(next), expiresAt: entry?.expiresAt ?? null });
    return next;
  }

  /** PEXPIRE; returns false when the key does not exist. */
  pexpire(key: string, ttlMs: number): boolean {
    const entry = this.lookup(key);
    if (!entry) return false;
    entry.expiresAt = this.now() + ttlMs;
    return true;
  }

  /** PTTL: -2 when the key does not exist, -1 when it has no expiry. */
  pttl(key: string): number {
    const entry = this.lookup(key);
    if (!entry) return -2;
    if (entry.expiresAt === null) return -1;
    return entry.expiresAt - this.now();
  }

  hmget(key: string, fields: readonly string[]): (string | null)[] {
    const entry = this.lookup(key);
    if (!entry) return fields.map(() => null);
    if (entry.kind !== "hash") throw wrongType(key);
    return fields.map((field) => entry.fields.get(field) ?? null);
  }

  /** HSET key field value ...; keeps the key's expiry; returns how many fields were added. */
  hset(key: string, values: Record<string, string>): number {
    const entry = this.lookup(key);
    if (entry && entry.kind !== "hash") throw wrongType(key);
    const fields = entry ? entry.fields : new Map<string, string>();
    let added = 0;
    for (const [field, value] of Object.entries(values)) {
      if (!fields.has(field)) added++;
      fields.set(field, value);
    }
    if (!entry) this.write(key, { kind: "hash", fields, expiresAt: null });
    return added;
  }

  private isExpired(entry: Entry, now: number): boolean {
    return entry.expiresAt !== null && now > entry.expiresAt;
  }

  private lookup(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && this.isExpired(entry, this.now())) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private write(key: string, entry: Entry): void {
    this.entries.set(key, entry);
    if (++this.writesSinceSweep >= SWEEP_EVERY_WRITES) {
      this.writesSinceSweep = 0;
      const now = this.now();
      for (const [k, e] of this.entries) {
        if (this.isExpired(e, now)) this.entries.delete(k);
      }
    }
  }
}
