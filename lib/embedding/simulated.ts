import type { IntegrationMode } from "../config/schema";
import { BallastError } from "../errors";
import { COHERE_MAX_BATCH_TEXTS } from "./cohere";
import { LocalHashEmbedder } from "./local";
import { OPENAI_MAX_BATCH_INPUTS } from "./openai";
import type {
  EmbedCallOptions,
  EmbeddingBatchResult,
  EmbeddingProvider,
  EmbeddingProviderName,
} from "./types";

/**
 * The simulation boundary of a remote embedding provider (EMBEDDING_MODE):
 * - `log-only`: no request leaves the process. Each call is recorded (counts, the requests the
 *   live provider would have been sent, tokens by its own tokeniser, the cost it would have
 *   billed; never the text) and answered with deterministic local vectors in the provider's
 *   dimensions, so a staging sync completes. Those vectors live in their own embedding space
 *   (`<provider space>:log-only`): switching to live re-embeds everything instead of mixing
 *   simulated vectors with real ones.
 * - `off`: every call fails at once with a permanent error naming EMBEDDING_MODE.
 * The local embedder has no network and is always live.
 */

/** One call a log-only integration recorded instead of sending. */
export interface SimulatedCall {
  /** As /api/health names it: `embedding.openai`. */
  integration: string;
  operation: "embed_documents" | "embed_query";
  items: number;
  requests: number;
  tokens: number;
  details: Record<string, unknown>;
}

export type SimulationRecorder = (call: SimulatedCall) => Promise<void>;

/** Suffix of a log-only provider's embedding space. */
export const LOG_ONLY_SPACE_SUFFIX = ":log-only";

export class EmbeddingOffError extends BallastError {
  constructor(readonly provider: EmbeddingProviderName) {
    super(
      "embedding_off",
      `the ${provider} embedding provider is off (EMBEDDING_MODE=off): no embedding request is sent, so nothing that needs embeddings can run; set EMBEDDING_MODE=live, or log-only to simulate it`,
      503,
      false,
    );
  }
}

export class LogOnlyEmbedder implements EmbeddingProvider {
  readonly mode: IntegrationMode = "log-only";
  readonly provider: EmbeddingProviderName;
  readonly model: string;
  readonly dimensions: number;
  readonly space: string;
  private readonly local: LocalHashEmbedder;
  private readonly maxBatch: number;

  constructor(
    private readonly live: EmbeddingProvider,
    private readonly record: SimulationRecorder,
    batchSize: number,
  ) {
    this.provider = live.provider;
    this.model = live.model;
    this.dimensions = live.dimensions;
    this.space = `${live.space}${LOG_ONLY_SPACE_SUFFIX}`;
    this.local = new LocalHashEmbedder(live.dimensions);
    const apiCap = live.provider === "cohere" ? COHERE_MAX_BATCH_TEXTS : OPENAI_MAX_BATCH_INPUTS;
    this.maxBatch = Math.max(1, Math.min(batchSize, apiCap));
  }

  countTokens(text: string): number {
    return this.live.countTokens(text);
  }

  /** Nothing is billed in log-only mode. */
  costUsd(_tokens: number): number {
    return 0;
  }

  async embedDocuments(
    texts: string[],
    options: EmbedCallOptions = {},
  ): Promise<EmbeddingBatchResult> {
    if (texts.length === 0)
      return { vectors: [], usage: { tokens: 0, costUsd: 0, requests: 0, retries: 0 } };
    const tokens = await this.note("embed_documents", texts);
    const { vectors } = await this.local.embedDocuments(texts, options);
    return { vectors, usage: { tokens, costUsd: 0, requests: 0, retries: 0 } };
  }

  async embedQuery(text: string, options: EmbedCallOptions = {}): Promise<Float32Array> {
    await this.note("embed_query", [text]);
    return this.local.embedQuery(text, options);
  }

  private async note(operation: SimulatedCall["operation"], texts: string[]): Promise<number> {
    const tokens = texts.reduce((sum, text) => sum + this.live.countTokens(text), 0);
    await this.record({
      integration: `embedding.${this.provider}`,
      operation,
      items: texts.length,
      requests: Math.ceil(texts.length / this.maxBatch),
      tokens,
      details: {
        model: this.model,
        dimensions: this.dimensions,
        space: this.space,
        estimatedCostUsd: this.live.costUsd(tokens),
      },
    });
    return tokens;
  }
}

export class OffEmbedder implements EmbeddingProvider {
  readonly mode: IntegrationMode = "off";
  readonly provider: EmbeddingProviderName;
  readonly model: string;
  readonly dimensions: number;
  readonly space: string;

  constructor(private readonly live: EmbeddingProvider) {
    this.provider = live.provider;
    this.model = live.model;
    this.dimensions = live.dimensions;
    this.space = live.space;
  }

  countTokens(text: string): number {
    return this.live.countTokens(text);
  }

  costUsd(tokens: number): number {
    return this.live.costUsd(tokens);
  }

  async embedDocuments(texts: string[]): Promise<EmbeddingBatchResult> {
    if (texts.length === 0)
      return { vectors: [], usage: { tokens: 0, costUsd: 0, requests: 0, retries: 0 } };
    throw new EmbeddingOffError(this.provider);
  }

  async embedQuery(): Promise<Float32Array> {
    throw new EmbeddingOffError(this.provider);
  }
}

/**
 * The provider as its mode allows: itself when live (and always for the local embedder), else
 * the log-only or off stand-in. `record` stores what log-only records.
 */
export function withSimulationBoundary(
  live: EmbeddingProvider,
  mode: IntegrationMode,
  options: { record: SimulationRecorder; batchSize: number },
): EmbeddingProvider {
  if (live.provider === "local" || mode === "live") return live;
  if (mode === "off") return new OffEmbedder(live);
  return new LogOnlyEmbedder(live, options.record, options.batchSize);
}
