import { InngestTestEngine } from "@inngest/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET } from "../../app/api/metrics/route";
import { monitor } from "../../inngest/functions/monitor";
import { setRuntime } from "../../lib/runtime";
import { requestedEventName } from "../../lib/workflows/events";
import { runInline } from "../../lib/workflows/inline";
import { monitorWorkflow } from "../../lib/workflows/monitor";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

const TOKEN = "step-latency-token-0123456789abcdef";
const STEPS = ["measure", "evaluate-rules", "plan-notifications", "deliver", "maintain-series"];

/**
 * ballast_workflow_step_duration_seconds observes every step on every driver: the Inngest
 * functions (here through @inngest/test, which re-runs the handler for each step as Inngest
 * does: memoised steps are not observed again) and the inline executor.
 */
describe("step latency histogram on every driver", () => {
  let rt: TestRuntime;

  const counts = async (): Promise<Record<string, number>> => {
    const response = await GET(
      new Request("http://localhost/api/metrics", {
        headers: { authorization: `Bearer ${TOKEN}` },
      }),
    );
    expect(response.status).toBe(200);
    const body = await response.text();
    const out: Record<string, number> = {};
    for (const step of STEPS) {
      const series = `ballast_workflow_step_duration_seconds_count{workflow="monitor",step="${step}",outcome="ok"}`;
      const line = body.split("\n").find((l) => l.startsWith(`${series} `));
      out[step] = line ? Number(line.slice(series.length + 1)) : 0;
    }
    return out;
  };
  const plusOne = (before: Record<string, number>) =>
    Object.fromEntries(STEPS.map((s) => [s, (before[s] ?? 0) + 1]));

  beforeAll(async () => {
    rt = await createTestRuntime({ METRICS_TOKEN: TOKEN });
    setRuntime(rt);
  });
  afterAll(async () => {
    setRuntime(undefined);
    await rt.close();
  });

  it("an Inngest-driven run observes each of its steps exactly once", async () => {
    const before = await counts();
    const { error } = await new InngestTestEngine({
      function: monitor,
      events: [{ name: "inngest/scheduled.timer", data: {} }],
    }).execute();
    expect(error).toBeUndefined();
    expect(await counts()).toEqual(plusOne(before));
  });

  it("an inline run observes each of its steps exactly once too", async () => {
    const before = await counts();
    const outcome = await runInline(
      monitorWorkflow,
      { id: "inline-latency", name: requestedEventName("monitor"), data: {} },
      { deps: async () => rt.deps, log: rt.log, workflows: [monitorWorkflow] },
    );
    expect(outcome.ok).toBe(true);
    expect(await counts()).toEqual(plusOne(before));
  });
});
