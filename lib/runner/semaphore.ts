/**
 * Counting semaphores by key: at most `limit` holders per key at a time, waiters served in
 * order. The embedded runner's concurrency limits (one sync step per source, batch limits)
 * are these, held around each step as Inngest counts executing steps.
 */
export class KeyedSemaphore {
  private readonly held = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();

  async acquire(key: string, limit: number): Promise<() => void> {
    if ((this.held.get(key) ?? 0) >= limit)
      await new Promise<void>((resolve) => {
        const queue = this.waiting.get(key) ?? [];
        queue.push(resolve);
        this.waiting.set(key, queue);
      });
    else this.held.set(key, (this.held.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.get(key)?.shift();
      if (next)
        next(); // the slot passes to the next waiter
      else {
        const count = (this.held.get(key) ?? 1) - 1;
        if (count <= 0) this.held.delete(key);
        else this.held.set(key, count);
      }
      if (this.waiting.get(key)?.length === 0) this.waiting.delete(key);
    };
  }

  /** Holders per key (status pages, tests). */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.held);
  }
}
