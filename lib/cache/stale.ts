/**
 * A value reused for a while in this instance, for pages that may be a few seconds stale
 * (the console's overview): keyed by an owner object (the runtime: a new runtime starts
 * empty, and a dropped one takes its entries with it) and a name. One load at a time per key:
 * callers arriving while it runs share it; a failed load is not kept (the next caller loads).
 */
interface Entry<T> {
  at: number;
  value?: T;
  has: boolean;
  pending?: Promise<T>;
}

const entries = new WeakMap<object, Map<string, Entry<unknown>>>();

export async function reuseFor<T>(
  owner: object,
  name: string,
  maxAgeMs: number,
  load: () => Promise<T>,
  now: () => number = Date.now,
): Promise<T> {
  let byName = entries.get(owner);
  if (!byName) {
    byName = new Map();
    entries.set(owner, byName);
  }
  const entry = (byName.get(name) as Entry<T> | undefined) ?? { at: 0, has: false };
  byName.set(name, entry as Entry<unknown>);
  if (entry.has && now() - entry.at <= maxAgeMs) return entry.value as T;
  if (!entry.pending) {
    const pending = load();
    entry.pending = pending;
    pending.then(
      (value) => {
        entry.value = value;
        entry.has = true;
        entry.at = now();
        entry.pending = undefined;
      },
      () => {
        entry.pending = undefined;
      },
    );
  }
  return entry.pending;
}
