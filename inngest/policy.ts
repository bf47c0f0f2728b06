import { NonRetriableError, RetryAfterError } from "inngest";
import { BallastError, ProviderError } from "../lib/errors";
import { pipelineDeps } from "../lib/pipeline/deps";
import { getRuntime } from "../lib/runtime";

/** The pipeline's dependencies for a step (built once per process). */
export async function deps() {
  return pipelineDeps(await getRuntime());
}

/**
 * Runs lib/ work inside a step and tells Inngest how to treat its failure: bad input or a
 * missing row is not retried; a provider's Retry-After is honoured; anything else is
 * retried with Inngest's backoff.
 */
export async function withRetryPolicy<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ProviderError && error.retryable && error.retryAfterMs)
      throw new RetryAfterError(error.message, error.retryAfterMs, { cause: error });
    if (error instanceof BallastError && !error.retryable)
      throw new NonRetriableError(`${error.code}: ${error.message}`, { cause: error });
    throw error;
  }
}
