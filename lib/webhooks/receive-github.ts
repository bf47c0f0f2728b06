import { createHash } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { webhookDeliveries } from "../../db/schema";
import { BadRequestError, BallastError, UnauthorizedError } from "../errors";
import { readBodyBytes } from "../http/respond";
import { recordInboundEvent } from "../ledger/pipeline";
import type { Logger } from "../log/logger";
import { dispatchOutbox, type EventSender, type OutboxEvent } from "../outbox/outbox";
import { requestSync } from "../pipeline/request-sync";
import { setInstallation, sourcesForPush } from "../pipeline/source-records";
import { type GitHubEvent, parseGitHubEvent } from "./github-payloads";
import { verifyGitHubSignature } from "./github-signature";

export interface WebhookDeps {
  db: Database;
  log: Logger;
  secret: string | undefined;
  maxBodyBytes: number;
  send: EventSender;
  /** The parity ledger: off when LEDGER_ENABLED=false; the configuration's secrets scrubbed. */
  ledger?: { enabled?: boolean; secrets?: readonly string[] };
}

export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
}

const DELIVERY_ID = /^[A-Za-z0-9-]{1,100}$/;
const EVENT_NAME = /^[a-z_]{1,64}$/;

/**
 * POST /api/webhooks/github. In order: size limit (413), signature in constant time (401),
 * headers and JSON (400), then the delivery is stored — with any sync request it causes,
 * in the same transaction — before it is acknowledged. A redelivery (same
 * X-GitHub-Delivery) is acknowledged and changes nothing. Events are then sent to Inngest;
 * if Inngest is unreachable they stay in the outbox and are re-sent later.
 */
export async function receiveGitHubWebhook(
  deps: WebhookDeps,
  request: Request,
): Promise<WebhookAnswer> {
  if (!deps.secret) {
    throw new BallastError(
      "webhook_not_configured",
      "GITHUB_WEBHOOK_SECRET is not set; deliveries cannot be verified",
      503,
      false,
    );
  }
  const raw = await readBodyBytes(request, deps.maxBodyBytes);
  if (!verifyGitHubSignature(deps.secret, raw, request.headers.get("x-hub-signature-256")))
    throw new UnauthorizedError("X-Hub-Signature-256 is missing or does not match the body");
  const deliveryId = request.headers.get("x-github-delivery") ?? "";
  const eventName = request.headers.get("x-github-event") ?? "";
  if (!DELIVERY_ID.test(deliveryId))
    throw new BadRequestError(
      "X-GitHub-Delivery header is missing or malformed",
      "missing_delivery_id",
    );
  if (!EVENT_NAME.test(eventName))
    throw new BadRequestError("X-GitHub-Event header is missing or malformed", "missing_event");

  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
  } catch {
    throw new BadRequestError("body is not valid UTF-8 JSON", "invalid_json");
  }
  const event = parseGitHubEvent(eventName, payload);
  const bodySha256 = createHash("sha256").update(raw).digest("hex");

  const recorded = await deps.db.transaction(async (tx) => {
    const t = tx as unknown as Database;
    const [inserted] = await t
      .insert(webhookDeliveries)
      .values({
        deliveryId,
        event: eventName,
        action:
          typeof (payload as { action?: unknown }).action === "string"
            ? (payload as { action: string }).action
            : null,
        repository: repositoryOf(event),
        outcome: "accepted",
        bodySha256,
        payload: payload as object,
      })
      .onConflictDoNothing()
      .returning({ deliveryId: webhookDeliveries.deliveryId });
    if (!inserted) {
      await t
        .update(webhookDeliveries)
        .set({ duplicates: sql`${webhookDeliveries.duplicates} + 1` })
        .where(eq(webhookDeliveries.deliveryId, deliveryId));
      return { duplicate: true as const };
    }
    const handled = await handleEvent(t, deliveryId, event);
    await t
      .update(webhookDeliveries)
      .set({
        outcome: handled.outcome,
        detail: handled.detail,
        sourceId: handled.runs[0]?.sourceId ?? null,
      })
      .where(eq(webhookDeliveries.deliveryId, deliveryId));
    // The delivery in the parity ledger: headers, hashes and what it caused, never the payload.
    await recordInboundEvent(
      t,
      {
        id: `github:${deliveryId}`,
        name: "github.webhook",
        correlationId: `github:${deliveryId}`,
        sourceId: handled.runs[0]?.sourceId ?? null,
        data: {
          deliveryId,
          event: eventName,
          kind: event.kind,
          repository: repositoryOf(event),
          ...(event.kind === "push"
            ? {
                push: {
                  ref: event.ref,
                  before: event.before,
                  after: event.after,
                  forced: event.forced,
                  deleted: event.deleted,
                },
              }
            : {}),
          bodySha256,
          outcome: handled.outcome,
          detail: handled.detail,
          runs: handled.runs.map((r) => r.runId),
          events: handled.events,
        },
      },
      deps.ledger,
    );
    return { duplicate: false as const, ...handled };
  });

  if (recorded.duplicate) {
    deps.log.info({ deliveryId, event: eventName }, "duplicate webhook delivery acknowledged");
    return { status: 200, body: { ok: true, duplicate: true, deliveryId } };
  }
  let dispatched = 0;
  if (recorded.events.length > 0) {
    const sent = await dispatchOutbox(deps.db, deps.send, {
      ids: recorded.events.map((e) => e.id),
    });
    dispatched = sent.sent;
    if (sent.failed > 0)
      deps.log.warn(
        { deliveryId, error: sent.error },
        "could not reach Inngest; the sync request stays in the outbox and is re-sent later",
      );
  }
  deps.log.info(
    { deliveryId, event: eventName, outcome: recorded.outcome, runs: recorded.runs.length },
    "webhook delivery recorded",
  );
  const status = event.kind === "ping" ? 200 : 202;
  return {
    status,
    body: {
      ok: true,
      deliveryId,
      outcome: recorded.outcome,
      detail: recorded.detail,
      runs: recorded.runs.map((r) => r.runId),
      queued: recorded.events.length,
      dispatched,
    },
  };
}

interface Handled {
  outcome: "accepted" | "ignored";
  detail: string;
  runs: { runId: string; sourceId: string }[];
  events: OutboxEvent[];
}

async function handleEvent(db: Database, deliveryId: string, event: GitHubEvent): Promise<Handled> {
  switch (event.kind) {
    case "ping":
      return { outcome: "accepted", detail: `pong (hook ${event.hookId})`, runs: [], events: [] };
    case "installation": {
      const removed = event.action === "deleted" || event.action === "suspend";
      const updated = await setInstallation(
        db,
        event.repositories,
        removed ? null : event.installationId,
      );
      return {
        outcome: "accepted",
        detail: `installation ${event.action}: ${updated} source(s) updated`,
        runs: [],
        events: [],
      };
    }
    case "installation_repositories": {
      const added = await setInstallation(db, event.added, event.installationId);
      const removed = await setInstallation(db, event.removed, null);
      return {
        outcome: "accepted",
        detail: `repositories ${event.action}: ${added} linked, ${removed} unlinked`,
        runs: [],
        events: [],
      };
    }
    case "ignored":
      return {
        outcome: "ignored",
        detail: `event ${event.event} is not handled`,
        runs: [],
        events: [],
      };
    case "push": {
      if (!event.branch)
        return { outcome: "ignored", detail: `${event.ref} is not a branch`, runs: [], events: [] };
      const matches = await sourcesForPush(
        db,
        event.repository.fullName,
        event.branch,
        event.repository.defaultBranch ?? undefined,
      );
      if (matches.length === 0)
        return {
          outcome: "ignored",
          detail: `no active source tracks ${event.repository.fullName}@${event.branch}`,
          runs: [],
          events: [],
        };
      const runs: Handled["runs"] = [];
      const events: OutboxEvent[] = [];
      for (const source of matches) {
        const { run, event: queued } = await requestSync(db, {
          sourceId: source.id,
          mode: "incremental",
          trigger: "webhook",
          requestedBy: "github",
          pushedCommit: event.deleted ? undefined : event.after,
          dedupeKey: `github:${deliveryId}:${source.id}`,
          correlationId: `github:${deliveryId}`,
          note: `push ${event.before.slice(0, 12)}..${event.after.slice(0, 12)}${event.forced ? " (forced)" : ""}${event.deleted ? " (branch deleted)" : ""}`,
        });
        runs.push({ runId: run.id, sourceId: source.id });
        events.push(queued);
      }
      return {
        outcome: "accepted",
        detail: `sync requested for ${matches.map((s) => s.name).join(", ")}`,
        runs,
        events,
      };
    }
  }
}

function repositoryOf(event: GitHubEvent): string | null {
  switch (event.kind) {
    case "push":
      return event.repository.fullName;
    case "ping":
      return event.repositoryFullName;
    default:
      return null;
  }
}
