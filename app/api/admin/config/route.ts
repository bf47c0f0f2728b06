import { redactedConfig } from "../../../../lib/config";
import { adminRoute } from "../../../../lib/http/admin";
import { json } from "../../../../lib/http/respond";

export const dynamic = "force-dynamic";

/** The effective configuration, secrets redacted. */
export const GET = adminRoute({ role: "viewer", action: "config.read" }, async ({ runtime }) =>
  json({ config: redactedConfig(runtime.config) }),
);
