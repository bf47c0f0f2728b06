/**
 * The test bridge speaks the Upstash REST protocol closely enough for @upstash/redis and
 * @upstash/ratelimit: auth, endpoints, encodings, raw reply shapes, script handling.
 */
import { createHash } from "node:crypto";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, redisServerBinary, startRedisServer } from "../support/redis-server";
import {
  startUpstashBridge,
  stripUpstashScriptFlags,
  type UpstashBridge,
} from "../support/upstash-bridge";

const sha1 = (text: string) => createHash("sha1").update(text, "utf8").digest("hex");
const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

describe("stripUpstashScriptFlags", () => {
  it("removes only allow-key-locking and leaves other scripts alone", () => {
    expect(stripUpstashScriptFlags("#!lua flags=allow-key-locking\nreturn 1")).toBe(
      "#!lua\nreturn 1",
    );
    expect(stripUpstashScriptFlags("#!lua flags=no-writes,allow-key-locking\nreturn 1")).toBe(
      "#!lua flags=no-writes\nreturn 1",
    );
    expect(stripUpstashScriptFlags("#!lua flags=no-writes\nreturn 1")).toBeNull();
    expect(stripUpstashScriptFlags("return 1")).toBeNull();
  });
});

describe.skipIf(redisServerBinary() === null)("Upstash REST bridge", () => {
  let server: RedisServer;
  let bridge: UpstashBridge;
  let direct: IORedis;

  beforeAll(async () => {
    server = await startRedisServer();
    bridge = await startUpstashBridge({ redisUrl: server.url });
    direct = new IORedis(server.url);
  });
  afterAll(async () => {
    direct?.disconnect();
    await bridge?.close();
    await server?.stop();
  });

  async function post(
    path: string,
    body: unknown,
    headers: Record<string, string> = { authorization: `Bearer ${bridge.token}` },
  ): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${bridge.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }

  describe("auth", () => {
    it("answers 401 without a token, with a wrong token, or with another scheme", async () => {
      const attempts: Record<string, string>[] = [
        {},
        { authorization: "Bearer wrong-token" },
        { authorization: `Bearer ${bridge.token}x` },
        { authorization: `Basic ${bridge.token}` },
        { authorization: bridge.token },
      ];
      for (const headers of attempts) {
        for (const path of ["/", "/pipeline", "/multi-exec"]) {
          const res = await post(
            path,
            path === "/" ? ["SET", "k", "v"] : [["SET", "k", "v"]],
            headers,
          );
          expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
          expect(res.body).toEqual({ error: "Unauthorized" });
        }
      }
      // Nothing was written.
      expect(await direct.exists("k")).toBe(0);
    });

    it("accepts the right token", async () => {
      expect(await post("/", ["PING"])).toEqual({ status: 200, body: { result: "PONG" } });
    });
  });

  describe("one command at /", () => {
    it("answers {result}, base64-encoding strings except a top-level OK when asked", async () => {
      const encoded = { authorization: `Bearer ${bridge.token}`, "upstash-encoding": "base64" };
      expect((await post("/", ["SET", "greeting", "héllo"], encoded)).body).toEqual({
        result: "OK",
      });
      expect((await post("/", ["GET", "greeting"], encoded)).body).toEqual({
        result: b64("héllo"),
      });
      expect((await post("/", ["GET", "greeting"])).body).toEqual({ result: "héllo" });
      expect((await post("/", ["PING"], encoded)).body).toEqual({ result: b64("PONG") });
      expect((await post("/", ["GET", "nothing"], encoded)).body).toEqual({ result: null });
      expect((await post("/", ["INCRBY", "n", 5], encoded)).body).toEqual({ result: 5 });
      await direct.rpush("list", "OK", "two");
      expect((await post("/", ["LRANGE", "list", 0, -1], encoded)).body).toEqual({
        result: [b64("OK"), b64("two")],
      });
    });

    it("keeps raw reply shapes (HGETALL is a flat array, not an object)", async () => {
      await post("/", ["HSET", "h", "a", "1", "b", "2"]);
      expect((await post("/", ["HGETALL", "h"])).body).toEqual({ result: ["a", "1", "b", "2"] });
    });

    it("answers an error as 400 {error} with Redis's own text", async () => {
      await post("/", ["SET", "text", "abc"]);
      expect(await post("/", ["INCR", "text"])).toEqual({
        status: 400,
        body: { error: "ERR value is not an integer or out of range" },
      });
      const unknown = await post("/", ["NOSUCHCOMMAND"]);
      expect(unknown.status).toBe(400);
      expect(String((unknown.body as { error: string }).error)).toMatch(/^ERR unknown command/);
    });

    it("rejects malformed requests", async () => {
      expect((await post("/", "{not json")).status).toBe(400);
      expect((await post("/", [])).status).toBe(400);
      expect((await post("/", { command: "GET" })).status).toBe(400);
      expect((await post("/pipeline", [])).status).toBe(400);
      expect((await post("/elsewhere", ["PING"])).status).toBe(404);
      const get = await fetch(bridge.url, { headers: { authorization: `Bearer ${bridge.token}` } });
      expect(get.status).toBe(405);
    });
  });

  describe("/pipeline and /multi-exec", () => {
    it("pipeline answers one {result} or {error} per command, in order", async () => {
      const res = await post("/pipeline", [
        ["SET", "p", "1"],
        ["INCR", "p"],
        ["HGET", "p", "x"],
        ["GET", "p"],
      ]);
      expect(res.status).toBe(200);
      expect(res.body).toEqual([
        { result: "OK" },
        { result: 2 },
        { error: "WRONGTYPE Operation against a key holding the wrong kind of value" },
        { result: "2" },
      ]);
    });

    it("multi-exec runs the commands as one transaction", async () => {
      const res = await post("/multi-exec", [
        ["SET", "m", "1"],
        ["INCR", "m"],
        ["LPUSH", "m", "x"],
        ["GET", "m"],
      ]);
      expect(res.status).toBe(200);
      expect(res.body).toEqual([
        { result: "OK" },
        { result: 2 },
        { error: "WRONGTYPE Operation against a key holding the wrong kind of value" },
        { result: "2" },
      ]);
      // A command refused while queueing aborts the whole transaction.
      const aborted = await post("/multi-exec", [["SET", "m2", "1"], ["NOSUCHCOMMAND"]]);
      expect(aborted.status).toBe(400);
      expect(String((aborted.body as { error: string }).error)).toMatch(/EXECABORT/);
      expect(await direct.exists("m2")).toBe(0);
    });
  });

  describe("scripts", () => {
    const original = '#!lua flags=allow-key-locking\nreturn redis.call("INCRBY", KEYS[1], ARGV[1])';

    it("plain Redis rejects the allow-key-locking flag (which is why the bridge strips it)", async () => {
      await expect(direct.eval(original, 1, "s", "1")).rejects.toThrow(/flag/i);
    });

    it("passes NOSCRIPT through for an unknown SHA", async () => {
      const res = await post("/", ["EVALSHA", sha1(original), 1, "s", 1]);
      expect(res.status).toBe(400);
      expect(String((res.body as { error: string }).error)).toMatch(/^NOSCRIPT/);
    });

    it("EVAL runs a flagged script, and its original SHA then works for EVALSHA and SCRIPT EXISTS", async () => {
      expect((await post("/", ["EVAL", original, 1, "s", 2])).body).toEqual({ result: 2 });
      expect((await post("/", ["EVALSHA", sha1(original), 1, "s", 3])).body).toEqual({ result: 5 });
      expect((await post("/", ["SCRIPT", "EXISTS", sha1(original), "0".repeat(40)])).body).toEqual({
        result: [1, 0],
      });
    });

    it("SCRIPT LOAD answers the SHA of the script as sent", async () => {
      const other = "#!lua flags=allow-key-locking\nreturn 42";
      expect((await post("/", ["SCRIPT", "LOAD", other])).body).toEqual({ result: sha1(other) });
      expect((await post("/pipeline", [["EVALSHA", sha1(other), 0]])).body).toEqual([
        { result: 42 },
      ]);
    });
  });
});
