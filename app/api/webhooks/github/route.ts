import { sendEvents } from "../../../../inngest/send";
import { githubWebhookResponse } from "../../../../lib/http/webhook";

export const dynamic = "force-dynamic";
export const POST = (request: Request) => githubWebhookResponse(request, sendEvents);
