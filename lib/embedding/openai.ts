import { decode, encode } from "gpt-tokenizer/encoding/cl100k_base";
import { type BatchAnswer, type InputType, RemoteEmbedder } from "./remote";
import type { EmbeddingOptions } from "./types";

/**
 * Per-input limit. The API documents 8192 tokens per input; inputs are cut to 8191 tokens (the
 * long-standing cl100k limit, one token of margin) so that no request fails because a file is
 * long. The tail of an over-long input is lost for that vector; chunking normally keeps inputs
 * far below this.
 */
export const OPENAI_MAX_INPUT_TOKENS = 8191;
/** The API allows at most 2048 inputs per request. */
export const OPENAI_MAX_BATCH_INPUTS = 2048;
/**
 * The API allows 300,000 tokens summed over one request's inputs; batches stay under 250,000
 * by our count, leaving room for any difference between gpt-tokenizer and the server.
 */
export const OPENAI_MAX_REQUEST_TOKENS = 250_000;

/** Input text is plain text: `<|endoftext|>` in a file is counted as characters, not a token. */
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/**
 * OpenAI embeddings: `POST {baseUrl}/embeddings` with `{ model, input, dimensions,
 * encoding_format: "float" }` (`dimensions` only for text-embedding-3-* models, the only ones
 * that accept it), usage from `usage.prompt_tokens`. Tokens are counted with gpt-tokenizer's
 * cl100k_base, the encoding of text-embedding-3-* and ada-002. Empty strings, which the API
 * rejects, are sent as one space.
 */
export class OpenAIEmbedder extends RemoteEmbedder {
  private readonly url: string;
  private readonly sendDimensions: boolean;
  private readonly maxBatch: number;

  constructor(options: EmbeddingOptions, apiKey: string, usdPerMillionTokens: number) {
    super("openai", options.model, options.dimensions, apiKey, usdPerMillionTokens, options);
    this.url = `${options.openai.baseUrl.replace(/\/+$/, "")}/embeddings`;
    this.sendDimensions = /^text-embedding-3-/.test(options.model);
    this.maxBatch = Math.max(1, Math.min(options.batchSize, OPENAI_MAX_BATCH_INPUTS));
  }

  countTokens(text: string): number {
    return encode(text, PLAIN_TEXT).length;
  }

  protected plan(texts: string[]): { inputs: string[]; batches: number[][] } {
    const inputs: string[] = [];
    const batches: number[][] = [];
    let current: number[] = [];
    let currentTokens = 0;
    texts.forEach((text, i) => {
      let input = text;
      let tokens: number;
      if (text.length === 0) {
        input = " ";
        tokens = 1;
      } else {
        const encoded = encode(text, PLAIN_TEXT);
        tokens = encoded.length;
        if (tokens > OPENAI_MAX_INPUT_TOKENS) {
          input = decode(encoded.slice(0, OPENAI_MAX_INPUT_TOKENS));
          tokens = OPENAI_MAX_INPUT_TOKENS;
        }
      }
      inputs.push(input);
      if (
        current.length > 0 &&
        (current.length >= this.maxBatch || currentTokens + tokens > OPENAI_MAX_REQUEST_TOKENS)
      ) {
        batches.push(current);
        current = [];
        currentTokens = 0;
      }
      current.push(i);
      currentTokens += tokens;
    });
    if (current.length > 0) batches.push(current);
    return { inputs, batches };
  }

  protected async requestBatch(
    inputs: string[],
    _inputType: InputType,
    signal: AbortSignal,
  ): Promise<BatchAnswer> {
    const body: Record<string, unknown> = {
      model: this.model,
      input: inputs,
      encoding_format: "float",
    };
    if (this.sendDimensions) body.dimensions = this.dimensions;
    const { status, json } = await this.postJson(this.url, body, signal);
    return this.parse(status, json, inputs);
  }

  private parse(status: number, json: unknown, inputs: string[]): BatchAnswer {
    if (!json || typeof json !== "object")
      throw this.invalid(status, "the answer is not an object");
    const { data, usage } = json as { data?: unknown; usage?: unknown };
    if (!Array.isArray(data)) throw this.invalid(status, "no `data` list");
    // The API answers in input order with an `index` on each item; order by it to be sure.
    const ordered: unknown[] = new Array(data.length);
    for (const item of data) {
      const index = item && typeof item === "object" ? (item as { index?: unknown }).index : null;
      if (
        typeof index !== "number" ||
        !Number.isInteger(index) ||
        index < 0 ||
        index >= data.length ||
        ordered[index] !== undefined
      ) {
        throw this.invalid(status, "`data[].index` is missing, out of range or repeated");
      }
      ordered[index] = (item as { embedding?: unknown }).embedding;
    }
    const vectors = this.checkVectors(status, ordered, inputs.length);
    const promptTokens =
      usage && typeof usage === "object"
        ? (usage as { prompt_tokens?: unknown }).prompt_tokens
        : undefined;
    const tokens =
      typeof promptTokens === "number" && Number.isFinite(promptTokens) && promptTokens >= 0
        ? promptTokens
        : inputs.reduce((sum, input) => sum + this.countTokens(input), 0);
    return { vectors, tokens };
  }
}
