import { type ErrorIssue, ValidationError } from "../errors";
import { CohereEmbedder } from "./cohere";
import { LOCAL_MODEL, LocalHashEmbedder } from "./local";
import { modelInfo, pricePerMillionTokens } from "./models";
import { OpenAIEmbedder } from "./openai";
import type { EmbeddingOptions, EmbeddingProvider } from "./types";

export { COHERE_MAX_BATCH_TEXTS, CohereEmbedder, cohereAcceptsOutputDimension } from "./cohere";
export { LOCAL_MODEL, LocalHashEmbedder } from "./local";
export {
  EMBEDDING_MODELS,
  modelInfo,
  pricePerMillionTokens,
  type RemoteModelInfo,
} from "./models";
export {
  OPENAI_MAX_BATCH_INPUTS,
  OPENAI_MAX_INPUT_TOKENS,
  OPENAI_MAX_REQUEST_TOKENS,
  OpenAIEmbedder,
} from "./openai";
export {
  EmbeddingOffError,
  LOG_ONLY_SPACE_SUFFIX,
  LogOnlyEmbedder,
  OffEmbedder,
  type SimulatedCall,
  type SimulationRecorder,
  withSimulationBoundary,
} from "./simulated";
export type {
  EmbedCallOptions,
  EmbeddingBatchResult,
  EmbeddingOptions,
  EmbeddingProvider,
  EmbeddingProviderName,
  EmbeddingUsage,
  RetryNotice,
} from "./types";

/**
 * The embedding provider the options describe. Throws ValidationError (listing every problem)
 * when they cannot work: a missing API key, a model that cannot produce the requested
 * dimensions, a batch size below 1.
 */
export function createEmbeddingProvider(options: EmbeddingOptions): EmbeddingProvider {
  const issues = checkOptions(options);
  if (issues.length > 0) {
    throw new ValidationError(
      `invalid embedding options: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
      issues,
    );
  }
  const price = pricePerMillionTokens(
    options.provider,
    options.model,
    options.costPerMillionTokens,
  );
  switch (options.provider) {
    case "local":
      return new LocalHashEmbedder(options.dimensions, options.batchSize);
    case "openai":
      return new OpenAIEmbedder(options, options.openai.apiKey ?? "", price);
    case "cohere":
      return new CohereEmbedder(options, options.cohere.apiKey ?? "", price);
  }
}

function checkOptions(options: EmbeddingOptions): ErrorIssue[] {
  const issues: ErrorIssue[] = [];
  const { provider, model, dimensions } = options;
  if (!Number.isInteger(dimensions) || dimensions < 1) {
    issues.push({ path: "dimensions", message: `must be a positive integer, got ${dimensions}` });
  }
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    issues.push({
      path: "batchSize",
      message: `must be a positive integer, got ${options.batchSize}`,
    });
  }
  const cost = options.costPerMillionTokens;
  if (cost !== undefined && !(Number.isFinite(cost) && cost >= 0)) {
    issues.push({ path: "costPerMillionTokens", message: "must be a number >= 0" });
  }
  for (const [path, value] of [
    ["timeoutMs", options.timeoutMs],
    ["maxRetries", options.maxRetries],
  ] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      issues.push({ path, message: "must be a number >= 0" });
    }
  }

  if (provider === "local") {
    if (model !== LOCAL_MODEL) {
      issues.push({
        path: "model",
        message: `the local provider has one model, ${LOCAL_MODEL}; got "${model}"`,
      });
    }
    return issues;
  }

  const settings = provider === "openai" ? options.openai : options.cohere;
  if (!settings.apiKey) {
    issues.push({ path: `${provider}.apiKey`, message: `required for the ${provider} provider` });
  }
  if (!/^https?:\/\//.test(settings.baseUrl)) {
    issues.push({ path: `${provider}.baseUrl`, message: "must be an http(s) URL" });
  }
  if (!model) issues.push({ path: "model", message: "required" });

  const info = modelInfo(provider, model);
  if (info && Number.isInteger(dimensions)) {
    const allowed = info.requestableDimensions;
    if (allowed === "none" && dimensions !== info.nativeDimensions) {
      issues.push({
        path: "dimensions",
        message: `${model} always returns ${info.nativeDimensions} dimensions, got ${dimensions}`,
      });
    } else if (allowed === "any" && dimensions > info.nativeDimensions) {
      issues.push({
        path: "dimensions",
        message: `${model} returns at most ${info.nativeDimensions} dimensions, got ${dimensions}`,
      });
    } else if (Array.isArray(allowed) && !allowed.includes(dimensions)) {
      issues.push({
        path: "dimensions",
        message: `${model} returns ${allowed.join(", ")} dimensions, got ${dimensions}`,
      });
    }
  }
  return issues;
}
