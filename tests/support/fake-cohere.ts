/**
 * A loopback server that speaks Cohere's v2 embed API (`POST /v2/embed`) closely enough to test
 * Ballast's client: it checks the Bearer key and the request body (model, 1–96 non-empty
 * `texts`, a valid `input_type`, `embedding_types` containing "float", `output_dimension` only
 * for embed-v4 models and only 256/512/1024/1536, `truncate` NONE/START/END) and answers
 * deterministic unit vectors, different for `search_query` and `search_document` as with the
 * real models, under `embeddings.float`, with `meta.billed_units.input_tokens`. Answers can be
 * scripted (see ScriptStep).
 *
 * Billed tokens are one per whitespace-separated word plus one per text: deliberately not the
 * client's estimate, so tests can tell the two apart. A 401 echoes the whole key it was given
 * (deliberately worse than the real API) so a test can prove the client scrubs it.
 */
import {
  type Answer,
  bearer,
  FakeEmbeddingServer,
  fakeVector,
  type RecordedRequest,
  type VectorsResult,
} from "./fake-embedding-server";

export { fakeVector, type ScriptStep } from "./fake-embedding-server";

const MODELS: Record<string, { dimensions: number; outputDimensions?: number[] }> = {
  "embed-v4.0": { dimensions: 1536, outputDimensions: [256, 512, 1024, 1536] },
  "embed-english-v3.0": { dimensions: 1024 },
  "embed-multilingual-v3.0": { dimensions: 1024 },
};

const INPUT_TYPES = new Set([
  "search_document",
  "search_query",
  "classification",
  "clustering",
  "image",
]);

export interface FakeCohereOptions {
  apiKey: string;
}

export async function startFakeCohere(options: FakeCohereOptions): Promise<FakeCohere> {
  const fake = new FakeCohere(options);
  await fake.start();
  return fake;
}

export class FakeCohere extends FakeEmbeddingServer {
  constructor(options: FakeCohereOptions) {
    super((request) => handle(request, options));
  }

  /** Base URL to configure the client with (like https://api.cohere.com). */
  get baseUrl(): string {
    return this.url;
  }

  static vector(model: string, inputType: string, text: string, dimensions: number): number[] {
    return fakeVector(`cohere:${model}:${inputType}`, text, dimensions);
  }

  static billedTokens(text: string): number {
    return (text.match(/\S+/g)?.length ?? 0) + 1;
  }

  /** Texts of each embed request, in order. */
  inputsPerRequest(): string[][] {
    return this.requests.map((r) => ((r.body as { texts?: string[] }).texts ?? []) as string[]);
  }
}

function error(status: number, message: string): Answer {
  return { status, body: { id: "00000000-fake", message } };
}

function handle(request: RecordedRequest, options: FakeCohereOptions): Answer | VectorsResult {
  if (request.method !== "POST" || request.path !== "/v2/embed") {
    return error(404, `no route for ${request.method} ${request.path}`);
  }
  const key = bearer(request);
  if (key !== options.apiKey) return error(401, `invalid api token: ${key ?? "(none)"}`);
  if (!String(request.headers["content-type"] ?? "").startsWith("application/json")) {
    return error(400, "invalid request: content-type must be application/json");
  }
  const body = request.body;
  if (!body || typeof body !== "object") return error(400, "invalid request: body is not JSON");
  const { model, texts, input_type, embedding_types, output_dimension, truncate, ...rest } =
    body as Record<string, unknown>;
  const unknown = Object.keys(rest).filter((k) => k !== "max_tokens");
  if (unknown.length > 0) return error(400, `invalid request: unknown field ${unknown[0]}`);

  if (typeof model !== "string") return error(400, "invalid request: model is required");
  const info = MODELS[model];
  if (!info) return error(404, `model '${model}' not found`);
  if (typeof input_type !== "string" || !INPUT_TYPES.has(input_type)) {
    return error(400, "invalid request: input_type is required for embed models v3 and higher");
  }
  if (
    !Array.isArray(embedding_types) ||
    embedding_types.length === 0 ||
    !embedding_types.includes("float")
  ) {
    return error(400, 'this fake answers only embedding_types ["float"]');
  }
  if (truncate !== undefined && !["NONE", "START", "END"].includes(String(truncate))) {
    return error(400, `invalid request: truncate must be one of NONE, START, END`);
  }
  let size = info.dimensions;
  if (output_dimension !== undefined) {
    if (!info.outputDimensions) {
      return error(400, `invalid request: output_dimension is not supported for ${model}`);
    }
    if (typeof output_dimension !== "number" || !info.outputDimensions.includes(output_dimension)) {
      return error(
        400,
        `invalid request: output_dimension must be one of ${info.outputDimensions.join(", ")}`,
      );
    }
    size = output_dimension;
  }
  if (!Array.isArray(texts) || texts.length === 0) {
    return error(400, "invalid request: texts must be a non-empty list");
  }
  if (texts.length > 96) {
    return error(400, `invalid request: texts must contain at most 96 items, got ${texts.length}`);
  }
  for (const text of texts) {
    if (typeof text !== "string" || text.length === 0) {
      return error(400, "invalid request: texts must be non-empty strings");
    }
  }

  const strings = texts as string[];
  const billed = strings.reduce((sum, text) => sum + FakeCohere.billedTokens(text), 0);
  return {
    vectors: strings.map((text) => FakeCohere.vector(model, input_type, text, size)),
    billedTokens: billed,
    render: (vectors) => ({
      status: 200,
      body: {
        id: "00000000-fake",
        embeddings: { float: vectors },
        texts: strings,
        meta: { api_version: { version: "2" }, billed_units: { input_tokens: billed } },
        response_type: "embeddings_by_type",
      },
    }),
  };
}
