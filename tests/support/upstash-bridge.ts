/**
 * A small Upstash-REST-compatible server (node:http + ioredis) in front of a real redis-server,
 * so @upstash/redis and @upstash/ratelimit run unchanged in tests. What it must get right
 * (see shared/STACK-NOTES.md):
 *
 * - every request is a POST with `Authorization: Bearer <token>`, else 401 `{error}`;
 * - `/` takes one command as a JSON array and answers `{result}` (200) or `{error}` (400);
 *   `/pipeline` and `/multi-exec` take an array of commands and answer an array of `{result}` or
 *   `{error}`; any other non-2xx answer is `{error}` too;
 * - with `Upstash-Encoding: base64` every string in a result is base64, except a top-level
 *   "OK" (the client decodes every string but that one);
 * - replies keep their raw RESP shapes: commands go to ioredis upper-cased through the buffer
 *   API, so none of ioredis's reply transformers (HGETALL → object) apply;
 * - error texts pass through as they are (ratelimit looks for NOSCRIPT to fall back to EVAL);
 * - Lua scripts starting with `#!lua flags=allow-key-locking` (an Upstash-only flag that plain
 *   Redis rejects) run with that flag removed, and SHA1(original) is mapped to the SHA1 Redis
 *   knows, so EVALSHA / SCRIPT LOAD / SCRIPT EXISTS agree with the client.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";

export interface UpstashBridge {
  /** http://127.0.0.1:<port> */
  url: string;
  token: string;
  /** HTTP requests received so far (one per client round trip: a pipeline is one). */
  readonly requests: number;
  close(): Promise<void>;
}

export interface UpstashBridgeOptions {
  /** redis://host:port of the redis-server behind the bridge. */
  redisUrl: string;
  /** Default: a random token. */
  token?: string;
}

type Json = null | number | string | Json[];
type Outcome = { result: Json } | { error: string };

const MAX_BODY_BYTES = 10 * 1024 * 1024;
const UNSUPPORTED_FLAGS = new Set(["allow-key-locking"]);

function sha1(text: string): string {
  return createHash("sha1").update(text, "utf8").digest("hex");
}

/** The script without the flags plain Redis rejects, or null when it needs no change. */
export function stripUpstashScriptFlags(script: string): string | null {
  const match = /^#!lua([^\n]*)/.exec(script);
  if (!match) return null;
  const header = match[1] ?? "";
  const flagsMatch = /flags=(\S*)/.exec(header);
  if (!flagsMatch) return null;
  const flags = (flagsMatch[1] ?? "").split(",").filter((f) => f !== "");
  const kept = flags.filter((f) => !UNSUPPORTED_FLAGS.has(f));
  if (kept.length === flags.length) return null;
  const newHeader = header
    .replace(flagsMatch[0], kept.length > 0 ? `flags=${kept.join(",")}` : "")
    .trimEnd();
  return `#!lua${newHeader}${script.slice(match[0].length)}`;
}

function toJson(reply: unknown, base64: boolean, topLevel: boolean): Json {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === "number") return reply;
  if (typeof reply === "bigint") return Number(reply);
  if (Buffer.isBuffer(reply) || typeof reply === "string") {
    const buffer = Buffer.isBuffer(reply) ? reply : Buffer.from(reply, "utf8");
    if (!base64) return buffer.toString("utf8");
    if (topLevel && buffer.toString("utf8") === "OK") return "OK";
    return buffer.toString("base64");
  }
  if (Array.isArray(reply)) return reply.map((item) => toJson(item, base64, false));
  if (reply instanceof Error) return toJson(reply.message, base64, false);
  return toJson(String(reply), base64, topLevel);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class BadRequest extends Error {}

function parseCommand(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadRequest("ERR a command must be a non-empty JSON array");
  }
  return value.map((arg) => (typeof arg === "string" ? arg : JSON.stringify(arg)));
}

export async function startUpstashBridge(options: UpstashBridgeOptions): Promise<UpstashBridge> {
  const token = options.token ?? randomBytes(24).toString("hex");
  const expectedAuth = Buffer.from(`Bearer ${token}`, "utf8");
  const redis = new Redis(options.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
  });
  redis.on("error", () => {
    // Surfaced per request as an error answer.
  });
  await redis.connect();

  /** SHA1 of a script as the client sent it → SHA1 of the script Redis actually has. */
  const shaMap = new Map<string, string>();

  /** Rewrites a script command for plain Redis; returns the args to send and a reply fixer. */
  function prepare(command: string[]): { args: string[]; fix?: (reply: unknown) => unknown } {
    const [rawName = "", ...rest] = command;
    const name = rawName.toUpperCase();
    if ((name === "EVAL" || name === "EVAL_RO") && rest[0] !== undefined) {
      const stripped = stripUpstashScriptFlags(rest[0]);
      if (stripped !== null) {
        shaMap.set(sha1(rest[0]), sha1(stripped));
        return { args: [name, stripped, ...rest.slice(1)] };
      }
    }
    if ((name === "EVALSHA" || name === "EVALSHA_RO") && rest[0] !== undefined) {
      return { args: [name, shaMap.get(rest[0].toLowerCase()) ?? rest[0], ...rest.slice(1)] };
    }
    if (name === "SCRIPT" && rest[0] !== undefined) {
      const sub = rest[0].toUpperCase();
      if (sub === "LOAD" && rest[1] !== undefined) {
        const original = rest[1];
        const stripped = stripUpstashScriptFlags(original);
        if (stripped !== null) {
          shaMap.set(sha1(original), sha1(stripped));
          return { args: [name, sub, stripped], fix: () => sha1(original) };
        }
      }
      if (sub === "EXISTS") {
        return {
          args: [name, sub, ...rest.slice(1).map((sha) => shaMap.get(sha.toLowerCase()) ?? sha)],
        };
      }
    }
    return { args: [name, ...rest] };
  }

  async function runOne(command: string[], base64: boolean): Promise<Outcome> {
    const { args, fix } = prepare(command);
    const [name = "", ...rest] = args;
    try {
      const reply = await redis.callBuffer(name, ...rest);
      return { result: toJson(fix ? fix(reply) : reply, base64, true) };
    } catch (error) {
      return { error: errorText(error) };
    }
  }

  async function runPipeline(commands: string[][], base64: boolean): Promise<Outcome[]> {
    // Issued without waiting in between: one connection keeps them in order.
    return Promise.all(commands.map((command) => runOne(command, base64)));
  }

  async function runMultiExec(commands: string[][], base64: boolean): Promise<Outcome[]> {
    const prepared = commands.map((command) => prepare(command));
    const multi = redis.multi();
    for (const { args } of prepared) {
      const [name = "", ...rest] = args;
      multi.callBuffer(name, ...rest);
    }
    let replies: [Error | null, unknown][];
    try {
      replies = (await multi.exec()) ?? [];
    } catch (error) {
      // EXECABORT: a command was refused while queueing; nothing ran.
      throw new BadRequest(errorText(error));
    }
    return replies.map(([error, reply], i) =>
      error
        ? { error: errorText(error) }
        : { result: toJson(prepared[i]?.fix ? prepared[i].fix(reply) : reply, base64, true) },
    );
  }

  function send(res: ServerResponse, status: number, body: unknown): void {
    const payload = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(payload),
    });
    res.end(payload);
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) throw new BadRequest("ERR request body too large");
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  function authorized(req: IncomingMessage): boolean {
    const given = Buffer.from(req.headers.authorization ?? "", "utf8");
    return given.length === expectedAuth.length && timingSafeEqual(given, expectedAuth);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!authorized(req)) {
      req.resume();
      send(res, 401, { error: "Unauthorized" });
      return;
    }
    if (req.method !== "POST") {
      req.resume();
      send(res, 405, { error: "ERR only POST is supported" });
      return;
    }
    const path = new URL(req.url ?? "/", "http://bridge").pathname.replace(/\/+$/, "") || "/";
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch (error) {
      send(res, 400, {
        error: error instanceof BadRequest ? error.message : "ERR invalid JSON body",
      });
      return;
    }
    try {
      if (path === "/") {
        const outcome = await runOne(parseCommand(body), base64);
        send(res, "error" in outcome ? 400 : 200, outcome);
      } else if (path === "/pipeline" || path === "/multi-exec") {
        if (!Array.isArray(body) || body.length === 0) {
          throw new BadRequest("ERR expected a non-empty JSON array of commands");
        }
        const commands = body.map(parseCommand);
        const outcomes =
          path === "/pipeline"
            ? await runPipeline(commands, base64)
            : await runMultiExec(commands, base64);
        send(res, 200, outcomes);
      } else {
        send(res, 404, { error: `ERR unknown endpoint ${path}` });
      }
    } catch (error) {
      send(res, error instanceof BadRequest ? 400 : 500, { error: errorText(error) });
    }
  }

  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    handle(req, res).catch((error) => {
      if (!res.headersSent) send(res, 500, { error: errorText(error) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    get requests() {
      return requests;
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      redis.disconnect();
    },
  };
}
