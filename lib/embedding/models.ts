/**
 * What Ballast knows about the remote embedding models: list price and dimensions.
 * Prices are USD per million input tokens; EMBEDDING_COST_PER_MILLION_TOKENS overrides them.
 * A model missing from this table still works (its answers are checked against the configured
 * dimensions) but costs 0 unless a price is configured.
 */
export interface RemoteModelInfo {
  usdPerMillionTokens: number;
  /** Dimensions of the model's full-length vectors. */
  nativeDimensions: number;
  /**
   * Which smaller sizes can be requested: "any" (OpenAI `dimensions`: 1..native), a list
   * (Cohere `output_dimension`), or none (the model always answers `nativeDimensions`).
   */
  requestableDimensions: "any" | readonly number[] | "none";
}

export const EMBEDDING_MODELS = {
  openai: {
    "text-embedding-3-small": {
      usdPerMillionTokens: 0.02,
      nativeDimensions: 1536,
      requestableDimensions: "any",
    },
    "text-embedding-3-large": {
      usdPerMillionTokens: 0.13,
      nativeDimensions: 3072,
      requestableDimensions: "any",
    },
    "text-embedding-ada-002": {
      usdPerMillionTokens: 0.1,
      nativeDimensions: 1536,
      requestableDimensions: "none",
    },
  },
  cohere: {
    "embed-v4.0": {
      usdPerMillionTokens: 0.12,
      nativeDimensions: 1536,
      requestableDimensions: [256, 512, 1024, 1536],
    },
    "embed-english-v3.0": {
      usdPerMillionTokens: 0.1,
      nativeDimensions: 1024,
      requestableDimensions: "none",
    },
  },
} as const satisfies Record<"openai" | "cohere", Record<string, RemoteModelInfo>>;

export function modelInfo(
  provider: "openai" | "cohere",
  model: string,
): RemoteModelInfo | undefined {
  const table: Record<string, RemoteModelInfo> = EMBEDDING_MODELS[provider];
  return Object.hasOwn(table, model) ? table[model] : undefined;
}

/** USD per million tokens: the configured override, else the list price, else 0. */
export function pricePerMillionTokens(
  provider: "local" | "openai" | "cohere",
  model: string,
  override?: number,
): number {
  if (override !== undefined) return override;
  if (provider === "local") return 0;
  return modelInfo(provider, model)?.usdPerMillionTokens ?? 0;
}
