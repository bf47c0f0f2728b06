import { serve } from "inngest/next";
import { getConfig } from "../lib/config";
import { guardServeHandler } from "../lib/http/serve-guard";
import { getLogger } from "../lib/runtime";
import { inngest } from "./client";
import { functions } from "./index";

const config = getConfig();

/**
 * One serve() handler, mounted at /api/inngest and at /inngest. Inngest is told the app's
 * public origin from INNGEST_SERVE_ORIGIN (not the request's Host header), and unsigned sync
 * requests are refused: a sync must come signed from Inngest (dashboard, API, Vercel
 * integration). The guard keeps error details away from unauthenticated callers.
 */
const served = serve({
  client: inngest,
  functions,
  serveOrigin: config.inngest.serveOrigin,
  enableUnauthedSync: false,
});

const guard = {
  notConfigured: () =>
    config.inngest.dev || config.inngest.signingKey
      ? undefined
      : "the Inngest endpoint is off: set INNGEST_SIGNING_KEY (Inngest Cloud or self-hosted), or INNGEST_DEV=1 to use a local Inngest dev server",
  log: getLogger,
  hsts: config.mode !== "development",
};

export const handler = {
  GET: guardServeHandler(served.GET, guard),
  POST: guardServeHandler(served.POST, guard),
  PUT: guardServeHandler(served.PUT, guard),
};
