import { serve } from "inngest/next";
import { inngest } from "./client";
import { functions } from "./index";

/** One serve() handler, mounted at /api/inngest and at /inngest. */
export const handler = serve({ client: inngest, functions });
