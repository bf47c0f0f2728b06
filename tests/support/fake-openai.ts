/**
 * A loopback server that speaks OpenAI's embeddings API (`POST /v1/embeddings`) closely enough
 * to test Ballast's client: it checks the Bearer key and the request body as the real API does
 * (model, non-empty string inputs, at most 2048 of them, `dimensions` only for
 * text-embedding-3-* and not above the model's size, 8192 tokens per input, 300,000 per
 * request, counted with cl100k_base), and answers deterministic unit vectors with
 * `usage.prompt_tokens`. Answers can be scripted (see ScriptStep).
 *
 * Deliberately worse than the real API in one way: a 401 echoes the whole key it was given
 * (OpenAI masks it), so a test can prove the client keeps keys out of its errors.
 */
import { encode } from "gpt-tokenizer/encoding/cl100k_base";
import {
  type Answer,
  bearer,
  FakeEmbeddingServer,
  fakeVector,
  type RecordedRequest,
  type VectorsResult,
} from "./fake-embedding-server";

export { fakeVector, type ScriptStep } from "./fake-embedding-server";

const MODELS: Record<string, { dimensions: number; flexible: boolean }> = {
  "text-embedding-3-small": { dimensions: 1536, flexible: true },
  "text-embedding-3-large": { dimensions: 3072, flexible: true },
  "text-embedding-ada-002": { dimensions: 1536, flexible: false },
};

export interface FakeOpenAIOptions {
  apiKey: string;
  /** Extra models the fake serves: name → native dimensions (dimensions not requestable). */
  extraModels?: Record<string, number>;
}

const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

export async function startFakeOpenAI(options: FakeOpenAIOptions): Promise<FakeOpenAI> {
  const fake = new FakeOpenAI(options);
  await fake.start();
  return fake;
}

export class FakeOpenAI extends FakeEmbeddingServer {
  constructor(options: FakeOpenAIOptions) {
    super((request) => handle(request, options));
  }

  /** Base URL to configure the client with (like https://api.openai.com/v1). */
  get baseUrl(): string {
    return `${this.url}/v1`;
  }

  /** The vector this fake answers for `text`. */
  static vector(model: string, text: string, dimensions: number): number[] {
    return fakeVector(`openai:${model}`, text, dimensions);
  }

  /** Inputs of each embeddings request, in order. */
  inputsPerRequest(): string[][] {
    return this.requests.map((r) => ((r.body as { input?: string[] }).input ?? []) as string[]);
  }
}

function error(status: number, message: string, code: string | null = null): Answer {
  return { status, body: { error: { message, type: "invalid_request_error", param: null, code } } };
}

function handle(request: RecordedRequest, options: FakeOpenAIOptions): Answer | VectorsResult {
  if (request.method !== "POST" || request.path !== "/v1/embeddings") {
    return error(404, `Invalid URL (${request.method} ${request.path})`);
  }
  const key = bearer(request);
  if (key !== options.apiKey) {
    return error(
      401,
      key
        ? `Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`
        : "You didn't provide an API key.",
      "invalid_api_key",
    );
  }
  if (!String(request.headers["content-type"] ?? "").startsWith("application/json")) {
    return error(400, "Content-Type must be application/json");
  }
  const body = request.body;
  if (!body || typeof body !== "object") return error(400, "We could not parse the JSON body.");
  const { model, input, dimensions, encoding_format, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest).filter((k) => k !== "user");
  if (unknown.length > 0) return error(400, `Unrecognized request argument: ${unknown[0]}`);

  if (typeof model !== "string") return error(400, "you must provide a model parameter");
  const extra = options.extraModels?.[model];
  const info =
    MODELS[model] ?? (extra === undefined ? undefined : { dimensions: extra, flexible: false });
  if (!info) {
    return error(404, `The model \`${model}\` does not exist or you do not have access to it.`);
  }
  if (encoding_format !== undefined && encoding_format !== "float") {
    return error(400, "this fake only answers encoding_format float");
  }
  let size = info.dimensions;
  if (dimensions !== undefined) {
    if (!info.flexible) return error(400, "This model does not support specifying dimensions.");
    if (
      typeof dimensions !== "number" ||
      !Number.isInteger(dimensions) ||
      dimensions < 1 ||
      dimensions > info.dimensions
    ) {
      return error(400, `Invalid value for 'dimensions': ${String(dimensions)}`);
    }
    size = dimensions;
  }

  const inputs = typeof input === "string" ? [input] : input;
  if (!Array.isArray(inputs) || inputs.length === 0) {
    return error(400, "'$.input' is invalid. Please check the API reference.");
  }
  if (inputs.length > 2048) return error(400, "'$.input' must have at most 2048 items");
  let total = 0;
  for (const item of inputs) {
    if (typeof item !== "string" || item.length === 0) {
      return error(400, "'$.input' is invalid. Please check the API reference.");
    }
    const tokens = encode(item, PLAIN_TEXT).length;
    if (tokens > 8192) {
      return error(
        400,
        `This model's maximum context length is 8192 tokens, however you requested ${tokens} tokens. Please reduce your prompt.`,
      );
    }
    total += tokens;
  }
  if (total > 300_000) {
    return error(
      400,
      `Requested ${total} tokens, max 300000 tokens per request`,
      "max_tokens_per_request",
    );
  }

  const texts = inputs as string[];
  return {
    vectors: texts.map((text) => FakeOpenAI.vector(model, text, size)),
    billedTokens: total,
    render: (vectors) => ({
      status: 200,
      headers: {
        "x-ratelimit-limit-requests": "3000",
        "x-ratelimit-remaining-requests": "2999",
        "x-ratelimit-reset-requests": "20ms",
      },
      body: {
        object: "list",
        data: vectors.map((embedding, index) => ({ object: "embedding", index, embedding })),
        model,
        usage: { prompt_tokens: total, total_tokens: total },
      },
    }),
  };
}
