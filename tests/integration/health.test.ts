import { chmod, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { GET as healthGet } from "../../app/api/health/route";
import { createApiKey } from "../../lib/auth/api-keys";
import type { HealthReport } from "../../lib/health/check";
import { createRedisStore } from "../../lib/redis";
import { setRuntime } from "../../lib/runtime";
import { createTestRuntime, type TestRuntime } from "../support/runtime";

async function health(
  query = "",
  headers: Record<string, string> = {},
): Promise<{ status: number; body: HealthReport & { probe?: string } }> {
  const response = await healthGet(new Request(`http://localhost/api/health${query}`, { headers }));
  return {
    status: response.status,
    body: (await response.json()) as HealthReport & { probe?: string },
  };
}

describe("GET /api/health", () => {
  let rt: TestRuntime | undefined;
  afterEach(async () => {
    setRuntime(undefined);
    await rt?.close().catch(() => {});
    rt = undefined;
  });

  it("answers 200 with every part on its embedded backend", async () => {
    rt = await createTestRuntime({ GITHUB_WEBHOOK_SECRET: "whsec-health-secret-000001" });
    setRuntime(rt);
    const { status, body } = await health();
    expect(status).toBe(200);
    expect(Object.keys(body.parts).sort()).toEqual([
      "archive",
      "breakers",
      "database",
      "embedding",
      "inngest",
      "redis",
      "workflows",
    ]);
    expect(body.parts.database).toMatchObject({
      backend: "pglite",
      embedded: true,
      required: true,
    });
    expect(body.parts.redis).toMatchObject({ backend: "in-process", embedded: true, status: "ok" });
    expect(body.parts.archive).toMatchObject({ backend: "folder", embedded: true, status: "ok" });
    // No signing key and no INNGEST_DEV: the Inngest endpoint is off, and since no Inngest
    // answers, the app's embedded runner runs the workflows.
    expect(body.parts.inngest).toMatchObject({ backend: "off", embedded: true, status: "ok" });
    expect(body.parts.workflows).toMatchObject({
      backend: "embedded-runner",
      embedded: true,
      status: "ok",
    });
    expect(typeof body.parts.database?.latencyMs).toBe("number");
    expect(JSON.stringify(body)).not.toContain("whsec-health-secret-000001");
  });

  it("shows no path, host or error text to an anonymous caller, and the details to a viewer key", async () => {
    rt = await createTestRuntime();
    setRuntime(rt);
    const anonymous = await health();
    const text = JSON.stringify(anonymous.body);
    expect(text).not.toContain(rt.dataDir);
    expect(text).not.toMatch(/"detail"/);
    for (const part of Object.values(anonymous.body.parts)) expect(part.detail).toBeUndefined();

    const key = (await createApiKey(rt.db, { name: "ops", role: "viewer", createdBy: "test" })).key;
    const detailed = await health("", { authorization: `Bearer ${key}` });
    expect(detailed.status).toBe(200);
    expect(detailed.body.parts.archive?.detail).toContain(rt.dataDir);
    expect((await health("", { authorization: "Bearer blst_nope" })).status).toBe(401);
    // Liveness stays anonymous.
    expect((await health("?probe=live", { authorization: "Bearer blst_nope" })).status).toBe(200);
  });

  it("answers liveness without touching dependencies", async () => {
    const { status, body } = await health("?probe=live");
    expect(status).toBe(200);
    expect(body.probe).toBe("live");
  });

  it("answers 503 when the database is down", async () => {
    rt = await createTestRuntime();
    setRuntime(rt);
    await rt.database.close();
    const { status, body } = await health();
    expect(status).toBe(503);
    expect(body.status).toBe("down");
    expect(body.parts.database?.status).toBe("down");
  });

  it("shows an optional part that fails as degraded, with 200", async () => {
    const base = await createTestRuntime();
    rt = base;
    const dir = path.join(base.dataDir, "blocked");
    await mkdir(path.dirname(dir), { recursive: true });
    await writeFile(dir, "a file where the archive folder should be");
    await chmod(dir, 0o400);
    const blocked = await createTestRuntime({ ARCHIVE_DIR: dir }, { database: base.database });
    setRuntime(blocked);
    const { status, body } = await health();
    expect(status).toBe(200);
    expect(body.status).toBe("degraded");
    expect(body.parts.archive?.status).toBe("down");
    expect(body.parts.archive?.required).toBe(false);
  });

  it("answers 503 when a required Redis is unreachable, without leaking its token", async () => {
    const token = "upstash-planted-token-0000000001";
    rt = await createTestRuntime(
      {
        UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9",
        UPSTASH_REDIS_REST_TOKEN: token,
        REDIS_REQUIRED: "true",
      },
      {
        redis: createRedisStore({
          backend: "upstash",
          url: "http://127.0.0.1:9",
          token,
          env: "test",
        }),
      },
    );
    setRuntime(rt);
    const { status, body } = await health();
    expect(status).toBe(503);
    expect(body.parts.redis).toMatchObject({
      status: "down",
      required: true,
      backend: "upstash",
      embedded: false,
    });
    expect(JSON.stringify(body)).not.toContain(token);
  });
});
