import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET } from "../../app/api/metrics/route";
import { sources, syncRuns } from "../../db/schema";
import { createApiKey } from "../../lib/auth/api-keys";
import { installPeerAddressStamp, PEER_HEADER } from "../../lib/http/client-address";
import { resetMetricsCache } from "../../lib/metrics/registry";
import { setRuntime } from "../../lib/runtime";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

const TOKEN = "metrics-token-0123456789abcdef";

describe("GET /api/metrics", () => {
  let rt: TestRuntime;
  let viewer: string;
  let sourceId: string;

  beforeAll(async () => {
    installPeerAddressStamp();
    rt = await createTestRuntime({ METRICS_TOKEN: TOKEN, ALERT_DAILY_BUDGET_USD: "2" });
    setRuntime(rt);
    viewer = (await createApiKey(rt.db, { name: "grafana", role: "viewer", createdBy: "test" }))
      .key;
    const [source] = await rt.db
      .insert(sources)
      .values({ name: "docs-repo", kind: "git", location: "/tmp/nowhere" })
      .returning();
    sourceId = source?.id ?? "";
    const now = Date.now();
    await rt.db.insert(syncRuns).values([
      {
        sourceId,
        dedupeKey: "m-1",
        trigger: "cli",
        requestedMode: "full",
        status: "succeeded",
        processed: 99,
        failed: 1,
        planned: 100,
        embeddingSpace: "openai:text-embedding-3-small:1536",
        chunksEmbedded: 400,
        tokens: 12_000,
        costUsd: 3,
        startedAt: new Date(now - 120_000),
        finishedAt: new Date(now - 60_000),
      },
      {
        sourceId,
        dedupeKey: "m-2",
        trigger: "cli",
        requestedMode: "full",
        status: "failed",
        startedAt: new Date(now - 50_000),
        finishedAt: new Date(now - 40_000),
      },
    ]);
  });
  afterAll(async () => {
    setRuntime(undefined);
    await rt.close();
  });

  const get = (headers: Record<string, string> = {}) =>
    GET(
      new Request("http://localhost/api/metrics", {
        headers: { [PEER_HEADER]: "192.0.2.9", ...headers },
      }),
    );

  it("is 401 without a token, with a wrong one, and with a token of the wrong shape", async () => {
    const cases: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: "Basic abc" },
      { authorization: "Bearer " },
    ];
    for (const headers of cases) {
      const response = await get(headers);
      expect(response.status).toBe(401);
      const text = await response.text();
      expect(text).not.toContain("ballast_");
      expect(text).not.toContain(TOKEN);
    }
  });

  it("serves figures from the database with the metrics token or a viewer key, with bounded labels", async () => {
    resetMetricsCache();
    const response = await get({ authorization: `Bearer ${TOKEN}` });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/^ballast_sync_runs\{status="succeeded"\} 1$/m);
    expect(text).toMatch(/^ballast_sync_runs\{status="failed"\} 1$/m);
    expect(text).toMatch(/^ballast_tokens_24h\{provider="openai"\} 12000$/m);
    expect(text).toMatch(/^ballast_cost_usd_today\{provider="openai"\} 3$/m);
    expect(text).toMatch(/^ballast_budget_use_ratio 1\.5$/m);
    expect(text).toMatch(/^ballast_error_rate_15m 0\.01$/m);
    expect(text).toMatch(/^ballast_errors_24h\{source="docs-repo",kind="run"\} 1$/m);
    expect(text).toMatch(/^ballast_outbox_depth\{status="pending"\} 0$/m);
    expect(text).toMatch(/^ballast_redis_up 1$/m);
    expect(text).toMatch(/^ballast_sync_slo_ratio\{source="docs-repo"\} /m);
    expect(text).toMatch(/^# TYPE ballast_http_request_duration_seconds histogram$/m);
    expect(text).toMatch(/^# TYPE ballast_workflow_step_duration_seconds histogram$/m);
    // No ids or paths in any label.
    expect(text).not.toContain(sourceId);
    expect(text).not.toContain("/tmp/nowhere");

    const byKey = await get({ authorization: `Bearer ${viewer}` });
    expect(byKey.status).toBe(200);
    // The 401s above and this request were observed, by route name only.
    expect(await byKey.text()).toMatch(
      /ballast_http_request_duration_seconds_count\{route="metrics",method="GET",status="4xx"\} [1-9]/,
    );
  });
});
