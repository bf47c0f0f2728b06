import { modelInfo } from "./models";
import { type BatchAnswer, type InputType, RemoteEmbedder } from "./remote";
import type { EmbeddingOptions } from "./types";

/** The v2 embed endpoint takes at most 96 texts per call. */
export const COHERE_MAX_BATCH_TEXTS = 96;

/**
 * Cohere embeddings through the v2 API: `POST {baseUrl}/v2/embed` with `{ model, texts,
 * input_type, embedding_types: ["float"], truncate: "END", output_dimension }`; documents are
 * embedded as `search_document`, queries as `search_query`. `output_dimension` is sent only to
 * models that accept it (embed-v4.0 and later). Usage from `meta.billed_units.input_tokens`.
 *
 * Over-long texts are cut by the server (`truncate: "END"`), so no request fails because of
 * size. Token counts are an estimate: Cohere's tokenizer is not available offline, and Cohere
 * documents about 4 characters per token, so `countTokens` is `ceil(characters / 4)`; billing
 * uses the server's count. Empty strings are sent as one space.
 */
export class CohereEmbedder extends RemoteEmbedder {
  private readonly url: string;
  private readonly sendDimensions: boolean;
  private readonly maxBatch: number;

  constructor(options: EmbeddingOptions, apiKey: string, usdPerMillionTokens: number) {
    super("cohere", options.model, options.dimensions, apiKey, usdPerMillionTokens, options);
    this.url = `${options.cohere.baseUrl.replace(/\/+$/, "")}/v2/embed`;
    this.sendDimensions = cohereAcceptsOutputDimension(options.model);
    this.maxBatch = Math.max(1, Math.min(options.batchSize, COHERE_MAX_BATCH_TEXTS));
  }

  countTokens(text: string): number {
    return Math.ceil(text.length / 4);
  }

  protected plan(texts: string[]): { inputs: string[]; batches: number[][] } {
    const inputs = texts.map((text) => (text.length === 0 ? " " : text));
    const batches: number[][] = [];
    for (let start = 0; start < inputs.length; start += this.maxBatch) {
      const end = Math.min(inputs.length, start + this.maxBatch);
      batches.push(Array.from({ length: end - start }, (_, k) => start + k));
    }
    return { inputs, batches };
  }

  protected async requestBatch(
    inputs: string[],
    inputType: InputType,
    signal: AbortSignal,
  ): Promise<BatchAnswer> {
    const body: Record<string, unknown> = {
      model: this.model,
      texts: inputs,
      input_type: inputType === "query" ? "search_query" : "search_document",
      embedding_types: ["float"],
      truncate: "END",
    };
    if (this.sendDimensions) body.output_dimension = this.dimensions;
    const { status, json } = await this.postJson(this.url, body, signal);
    if (!json || typeof json !== "object")
      throw this.invalid(status, "the answer is not an object");
    const { embeddings, meta } = json as { embeddings?: unknown; meta?: unknown };
    const floats =
      embeddings && typeof embeddings === "object" && !Array.isArray(embeddings)
        ? (embeddings as { float?: unknown }).float
        : undefined;
    if (floats === undefined) throw this.invalid(status, "no `embeddings.float` list");
    const vectors = this.checkVectors(status, floats, inputs.length);
    const billed =
      meta && typeof meta === "object"
        ? (meta as { billed_units?: { input_tokens?: unknown } }).billed_units?.input_tokens
        : undefined;
    const tokens =
      typeof billed === "number" && Number.isFinite(billed) && billed >= 0
        ? billed
        : inputs.reduce((sum, input) => sum + this.countTokens(input), 0);
    return { vectors, tokens };
  }
}

/** embed-v4.0 and later take `output_dimension`; the v3 models always answer their own size. */
export function cohereAcceptsOutputDimension(model: string): boolean {
  const known = modelInfo("cohere", model);
  if (known) return Array.isArray(known.requestableDimensions);
  return /^embed-v([4-9]|\d{2,})(\.|$)/.test(model);
}
