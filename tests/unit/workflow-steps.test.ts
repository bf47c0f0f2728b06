import { describe, expect, it } from "vitest";
import { matchExpression } from "../../inngest/workflow";
import { ProviderError, UnavailableError, ValidationError } from "../../lib/errors";
import { KeyedSemaphore } from "../../lib/runner/semaphore";
import { fullJitter, runStepWithRetries, StepFailedError } from "../../lib/workflows/execute";

const wf = { id: "demo", retries: 3 as const };

function recorder() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

describe("a step's retries", () => {
  it("retries a retryable error with full-jitter backoff, then gives up as a StepFailedError", async () => {
    const { waits, sleep } = recorder();
    let calls = 0;
    const failing = runStepWithRetries(
      wf,
      "s",
      async () => {
        calls++;
        throw new UnavailableError("down");
      },
      { backoff: fullJitter(100, 250, () => 1), sleep },
    );
    await expect(failing).rejects.toBeInstanceOf(StepFailedError);
    await expect(failing).rejects.toMatchObject({ stepId: "s", attempts: 4, code: "unavailable" });
    expect(calls).toBe(4);
    expect(waits).toEqual([100, 200, 250]);
  });

  it("waits for a Retry-After instead of the backoff", async () => {
    const { waits, sleep } = recorder();
    let calls = 0;
    const result = await runStepWithRetries(
      wf,
      "s",
      async () => {
        calls++;
        if (calls === 1) throw new ProviderError("openai", 429, "slow down", 2000);
        return { ok: true };
      },
      { backoff: fullJitter(100, 250, () => 0.5), sleep },
    );
    expect(result).toEqual({ ok: true });
    expect(waits).toEqual([2000]);
  });

  it("does not retry a permanent error", async () => {
    const { waits, sleep } = recorder();
    let calls = 0;
    await expect(
      runStepWithRetries(
        wf,
        "s",
        async () => {
          calls++;
          throw new ValidationError("bad input");
        },
        { backoff: fullJitter(100, 250), sleep },
      ),
    ).rejects.toMatchObject({ code: "validation_failed", retryable: false });
    expect(calls).toBe(1);
    expect(waits).toEqual([]);
  });

  it("passes results through JSON, as Inngest stores step outputs", async () => {
    const at = new Date("2026-12-02T00:00:00Z");
    const result = await runStepWithRetries(wf, "s", async () => ({ at, skip: undefined }), {
      backoff: fullJitter(1, 1),
      sleep: async () => {},
    });
    expect(result).toEqual({ at: "2026-12-02T00:00:00.000Z" });
  });

  it("stops at once when aborted", async () => {
    const abort = new AbortController();
    abort.abort(new Error("stop"));
    await expect(
      runStepWithRetries(wf, "s", async () => 1, {
        backoff: fullJitter(1, 1),
        sleep: async () => {},
        signal: abort.signal,
      }),
    ).rejects.toThrow("stop");
  });
});

describe("keyed semaphores (the embedded runner's concurrency limits)", () => {
  it("lets `limit` holders in per key and serves waiters in order", async () => {
    const sem = new KeyedSemaphore();
    const a1 = await sem.acquire("source-a", 2);
    const a2 = await sem.acquire("source-a", 2);
    const b1 = await sem.acquire("source-b", 2);
    const order: string[] = [];
    const a3 = sem.acquire("source-a", 2).then((release) => {
      order.push("a3");
      return release;
    });
    const a4 = sem.acquire("source-a", 2).then((release) => {
      order.push("a4");
      return release;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual([]);
    expect(sem.snapshot()).toEqual({ "source-a": 2, "source-b": 1 });
    a1();
    a1(); // releasing twice is harmless
    const r3 = await a3;
    expect(order).toEqual(["a3"]);
    a2();
    (await a4)();
    r3();
    b1();
    expect(sem.snapshot()).toEqual({});
  });
});

describe("waitForEvent match expressions for Inngest", () => {
  it("quotes values so an id cannot change the expression", () => {
    expect(matchExpression({ runId: 'x" || true || "' })).toBe(
      'async.data.runId == "x\\" || true || \\""',
    );
  });
});
