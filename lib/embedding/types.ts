import type { EmbeddingProviderName, IntegrationMode } from "../config/schema";
import type { ProviderBudget } from "../limits/budget";
import type { CircuitBreaker } from "../resilience/breaker";

export type { EmbeddingProviderName };

export interface EmbeddingUsage {
  /** Tokens billed (remote providers: as reported by the API; local: its own token count). */
  tokens: number;
  costUsd: number;
  /** HTTP requests that got an answer or failed, retries included (local: 0). */
  requests: number;
  /** Retries after a retryable failure (429, 5xx, network error, timeout). */
  retries: number;
}

export interface EmbeddingBatchResult {
  /** vectors[i] belongs to texts[i]; each is L2-normalised and has `dimensions` components. */
  vectors: Float32Array[];
  usage: EmbeddingUsage;
}

export interface EmbedCallOptions {
  signal?: AbortSignal;
}

export interface EmbeddingProvider {
  readonly provider: EmbeddingProviderName;
  readonly model: string;
  readonly dimensions: number;
  /** `${provider}:${model}:${dimensions}`: vectors from different spaces must never be compared. */
  readonly space: string;
  /**
   * The simulation boundary (EMBEDDING_MODE): `log-only` records calls and answers locally,
   * `off` refuses them. Unset means live.
   */
  readonly mode?: IntegrationMode;
  /** Embeds texts for storage; splits them into request batches itself. */
  embedDocuments(texts: string[], options?: EmbedCallOptions): Promise<EmbeddingBatchResult>;
  /** Embeds a search query (Cohere embeds queries differently from documents). */
  embedQuery(text: string, options?: EmbedCallOptions): Promise<Float32Array>;
  /** The provider's tokenisation, or a documented estimate. */
  countTokens(text: string): number;
  /** USD for `tokens` input tokens at this model's price. */
  costUsd(tokens: number): number;
}

export interface RetryNotice {
  provider: string;
  /** Number of the retry about to happen: 1 for the first retry. */
  attempt: number;
  delayMs: number;
  /** HTTP status of the failed attempt; undefined for network errors and timeouts. */
  status?: number;
  message: string;
}

export interface EmbeddingOptions {
  provider: EmbeddingProviderName;
  model: string;
  dimensions: number;
  /** Most texts per request (also capped by the API's own limit: OpenAI 2048, Cohere 96). */
  batchSize: number;
  /** USD per million tokens; overrides the list price. */
  costPerMillionTokens?: number;
  openai: { apiKey?: string; baseUrl: string };
  cohere: { apiKey?: string; baseUrl: string };
  /** fetch implementation; default globalThis.fetch. */
  fetch?: typeof fetch;
  /** Per-request timeout (each attempt). Default 60,000. */
  timeoutMs?: number;
  /** Retries per request after a retryable failure. Default 5. */
  maxRetries?: number;
  /** Backoff before the first retry, before jitter. Default 500. */
  retryBaseDelayMs?: number;
  /** Cap on the backoff delay. Default 20,000. */
  retryMaxDelayMs?: number;
  /** Longest Retry-After we wait for in-process; longer → the error is thrown. Default 60,000. */
  maxRetryAfterMs?: number;
  onRetry?: (info: RetryNotice) => void;
  /** The provider's circuit breaker (shared state in Redis): every HTTP attempt goes through it. */
  breaker?: CircuitBreaker;
  /** The provider's RPM/TPM budget (shared in Redis): every HTTP attempt reserves from it first. */
  budget?: ProviderBudget;
}
