import { getConfig } from "../config";
import { enforceInbound, limitsOf, withHeaders } from "../limits/policies";
import type { EventSender } from "../outbox/outbox";
import { getRuntime, type Runtime } from "../runtime";
import { receiveGitHubWebhook } from "../webhooks/receive-github";
import { clientAddress, rateLimitKey } from "./client-address";
import { errorResponse, json } from "./respond";
import { withSecurityHeaders } from "./security-headers";

/** POST /api/webhooks/github; `send` delivers the outbox's events (to Inngest, in the app). */
export async function githubWebhookResponse(
  request: Request,
  send: EventSender,
): Promise<Response> {
  const response = await answer(request, send);
  return withSecurityHeaders(response, { hsts: hstsWanted() });
}

function hstsWanted(): boolean {
  try {
    return getConfig().mode !== "development";
  } catch {
    return true;
  }
}

async function answer(request: Request, send: EventSender): Promise<Response> {
  let runtime: Runtime | undefined;
  try {
    runtime = await getRuntime();
    const limitHeaders = await enforceInbound(
      runtime.redis,
      "webhook",
      rateLimitKey(clientAddress(request, runtime.config.security.trustedProxies)),
      limitsOf(runtime.config),
    );
    const answer = await receiveGitHubWebhook(
      {
        db: runtime.db,
        log: runtime.log,
        secret: runtime.config.github.webhookSecret,
        maxBodyBytes: runtime.config.webhooks.maxBodyBytes,
        send,
        ledger: { enabled: runtime.config.ledger.enabled, secrets: runtime.config.secrets },
      },
      request,
    );
    return withHeaders(json(answer.body, answer.status), limitHeaders);
  } catch (error) {
    return errorResponse(error, runtime?.log);
  }
}
