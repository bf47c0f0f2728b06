import { Inngest } from "inngest";
import { getConfig } from "../lib/config";
import { getLogger } from "../lib/runtime";

const config = getConfig();

/**
 * The one Inngest client. Keys come from lib/config: in staging/production the signing key
 * is required (requests to /api/inngest are verified). Dev mode (unsigned requests, the local
 * dev server) only when INNGEST_DEV asks for it and no signing key is configured.
 */
export const inngest = new Inngest({
  id: config.inngest.appId,
  isDev: config.inngest.dev,
  eventKey: config.inngest.eventKey,
  signingKey: config.inngest.signingKey,
  signingKeyFallback: config.inngest.signingKeyFallback,
  baseUrl: config.inngest.baseUrl ?? config.inngest.devServerUrl,
  logger: getLogger(),
});
