/**
 * Machinery shared by the fake OpenAI and Cohere servers: a loopback node:http server whose
 * next answers can be scripted (429 with headers, 5xx, slow answers, dropped connections,
 * malformed bodies, wrong vectors), that records every request it gets, and that answers
 * deterministic unit vectors.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type ScriptStep =
  /** Answer normally. */
  | { kind: "ok" }
  /** Answer this status (with headers and body) before looking at the request. */
  | { kind: "status"; status: number; headers?: Record<string, string>; body?: unknown }
  /** Answer normally, but only after `ms` milliseconds. */
  | { kind: "delay"; ms: number }
  /** Close the connection without answering. */
  | { kind: "hang-up" }
  /** Answer 200 with a body that is not JSON. */
  | { kind: "malformed"; body?: string }
  /** Answer 200 with one vector fewer than inputs. */
  | { kind: "wrong-count" }
  /** Answer 200 with vectors one component shorter than asked. */
  | { kind: "wrong-dimensions" };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
  /** Status the fake answered (undefined when it hung up or the client went away first). */
  status?: number;
  /** Tokens the fake reported as used (successful answers only). */
  billedTokens?: number;
  /** Epoch ms when the request arrived. */
  receivedAt: number;
  /** A fault the fake injected (see `faults`): the client got no usable answer. */
  injected?: "error" | "stall";
}

/**
 * Faults injected at random into requests no script step intercepts (a seeded generator, so
 * a run is reproducible): `errorRate` of them answer 500, `stallRate` answer only after
 * `stallMs` (past the client's timeout), the rest normally. `down` answers every request 500.
 */
export interface FaultOptions {
  errorRate?: number;
  stallRate?: number;
  stallMs?: number;
  seed?: number;
  down?: boolean;
}

export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface VectorsResult {
  vectors: number[][];
  billedTokens: number;
  /** Wraps the (possibly tampered with) vectors in the API's answer shape. */
  render: (vectors: number[][]) => Answer;
}

/**
 * What a concrete fake does with a request no script step intercepted: an error answer
 * (401, 400 …) or the vectors it would answer.
 */
export type Handler = (request: RecordedRequest) => Answer | VectorsResult;

export class FakeEmbeddingServer {
  readonly requests: RecordedRequest[] = [];
  private readonly steps: ScriptStep[] = [];
  private faultOptions: FaultOptions = {};
  private faultState = 1;
  private server: Server | undefined;
  private origin = "";

  constructor(private readonly handler: Handler) {}

  get url(): string {
    return this.origin;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    this.server = server;
    this.origin = `http://127.0.0.1:${port}`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Injects faults into the following requests (see FaultOptions); `{}` turns them off. */
  faults(options: FaultOptions): this {
    this.faultOptions = options;
    this.faultState = options.seed ?? 12345;
    return this;
  }

  private nextRandom(): number {
    // xorshift32
    let x = this.faultState;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.faultState = x >>> 0 || 1;
    return this.faultState / 0x100000000;
  }

  /** Queues answers for the next requests, one step per request, in order. */
  script(...steps: ScriptStep[]): this {
    this.steps.push(...steps);
    return this;
  }

  reset(): void {
    this.requests.length = 0;
    this.steps.length = 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let body: unknown = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // recorded as text; the handler answers 400
    }
    const recorded: RecordedRequest = {
      method: req.method ?? "",
      path: req.url ?? "",
      headers: req.headers,
      body,
      receivedAt: Date.now(),
    };
    this.requests.push(recorded);
    let step: ScriptStep = this.steps.shift() ?? { kind: "ok" };
    const faults = this.faultOptions;
    if (step.kind === "ok" && faults.down) {
      recorded.injected = "error";
      step = { kind: "status", status: 500, body: { error: { message: "injected outage" } } };
    } else if (step.kind === "ok" && (faults.errorRate || faults.stallRate)) {
      const roll = this.nextRandom();
      if (roll < (faults.errorRate ?? 0)) {
        recorded.injected = "error";
        step = { kind: "status", status: 500, body: { error: { message: "injected failure" } } };
      } else if (roll < (faults.errorRate ?? 0) + (faults.stallRate ?? 0)) {
        recorded.injected = "stall";
        step = { kind: "delay", ms: faults.stallMs ?? 5000 };
      }
    }

    if (step.kind === "hang-up") {
      req.socket.destroy();
      return;
    }
    if (step.kind === "status") {
      this.send(res, recorded, {
        status: step.status,
        body: step.body ?? {},
        headers: step.headers,
      });
      return;
    }
    if (step.kind === "malformed") {
      recorded.status = 200;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(step.body ?? '{"data": [ {"embedding": [0.1, 0.2');
      return;
    }
    const result = this.handler(recorded);
    if ("status" in result) {
      this.send(res, recorded, result);
      return;
    }
    if (step.kind === "delay") {
      await new Promise((resolve) => setTimeout(resolve, step.ms));
      if (res.destroyed || req.socket.destroyed) return;
    }
    let vectors = result.vectors;
    if (step.kind === "wrong-count") vectors = vectors.slice(0, -1);
    if (step.kind === "wrong-dimensions") vectors = vectors.map((v) => v.slice(0, -1));
    recorded.billedTokens = result.billedTokens;
    this.send(res, recorded, result.render(vectors));
  }

  private send(res: ServerResponse, recorded: RecordedRequest, answer: Answer): void {
    recorded.status = answer.status;
    res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
    res.end(typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body));
  }
}

/** The fake's vector for a text: unit length, a pure function of its arguments. */
export function fakeVector(seed: string, text: string, dimensions: number): number[] {
  const digest = createHash("sha256").update(seed).update("\u0000").update(text).digest();
  let state = digest.readUInt32LE(0) || 1;
  const vector = new Array<number>(dimensions);
  let sumSquares = 0;
  for (let i = 0; i < dimensions; i++) {
    // xorshift32
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const value = (state >>> 0) / 0xffffffff - 0.5;
    vector[i] = value;
    sumSquares += value * value;
  }
  const scale = 1 / Math.sqrt(sumSquares);
  return vector.map((value) => value * scale);
}

/** The bearer token of a request, or undefined. */
export function bearer(request: RecordedRequest): string | undefined {
  const header = request.headers.authorization;
  return header?.startsWith("Bearer ") ? header.slice("Bearer ".length) : undefined;
}
