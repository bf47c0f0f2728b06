import type { Config } from "../config";
import { UnavailableError } from "../errors";
import type { EventSender } from "./outbox";

/** Where Inngest's event API is for this configuration, and the key to post with. */
export function eventApiTarget(config: Config["inngest"]): {
  base: string;
  key: string | undefined;
} {
  const base =
    config.baseUrl ??
    (config.dev ? (config.devServerUrl ?? "http://localhost:8288") : "https://inn.gs");
  return {
    base: base.replace(/\/+$/, ""),
    key: config.eventKey ?? (config.dev ? "dev" : undefined),
  };
}

/**
 * Sends events through Inngest's HTTP Event API (`POST <base>/e/<event key>`), for the CLI,
 * which runs without the app. The app sends through the Inngest SDK client instead.
 */
export function eventApiSender(
  config: Config["inngest"],
  fetchImpl: typeof fetch = fetch,
): EventSender {
  const { base, key } = eventApiTarget(config);
  return async (events) => {
    if (!key)
      throw new UnavailableError(
        "INNGEST_EVENT_KEY is not set; events cannot be sent",
        "inngest_unconfigured",
      );
    const response = await fetchImpl(`${base}/e/${encodeURIComponent(key)}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(events.map((e) => ({ id: e.id, name: e.name, data: e.data }))),
      signal: AbortSignal.timeout(10_000),
    }).catch((error: unknown) => {
      throw new UnavailableError(
        `Inngest event API at ${new URL(base).host} is unreachable: ${(error as Error).message}`,
        "inngest_unreachable",
      );
    });
    if (!response.ok)
      throw new UnavailableError(
        `Inngest event API answered HTTP ${response.status}`,
        "inngest_rejected",
      );
  };
}
