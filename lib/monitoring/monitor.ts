import type { Database } from "../../db/client";
import { deliverNotifications, type NotifyConfig, planNotifications } from "../alerts/notify";
import type { Config } from "../config";
import type { RedisStore } from "../redis";
import type { BreakerRegistry } from "../resilience/breaker";
import { urlPolicyFor } from "../security/source-access";
import type { Resolver } from "../security/url-policy";
import { evaluateRules } from "./evaluate";
import { computeFigures, type Figure } from "./figures";
import { effectiveRules } from "./rules";
import { storeSamples } from "./series";

/** What the monitor's steps need: the database, Redis and the configuration. */
export interface MonitorDeps {
  db: Database;
  redis?: RedisStore;
  /** The shared breakers: the dependencies' (figures) and the channels' (`alerts.<id>`). */
  breakers: BreakerRegistry;
  config: Config;
  /** Tests resolve names their own way; default the system resolver. */
  resolve?: Resolver;
}

export function notifyConfigOf(
  deps: Pick<MonitorDeps, "config" | "resolve" | "breakers">,
): NotifyConfig {
  return {
    monitoring: deps.config.monitoring,
    breakers: deps.breakers,
    policy: urlPolicyFor(deps.config),
    resolve: deps.resolve,
  };
}

/** Computes the figures and stores them in the series. */
export async function measure(
  deps: MonitorDeps,
  at: Date,
): Promise<{ figures: Figure[]; stored: number }> {
  const figures = await computeFigures(deps.db, {
    monitoring: deps.config.monitoring,
    redis: deps.redis,
    breakers: deps.breakers,
    now: at,
    vectorCounts: "stored",
  });
  const stored = await storeSamples(deps.db, figures, at);
  return { figures, stored };
}

export function evaluate(deps: MonitorDeps, figures: Figure[], at: Date, correlationId?: string) {
  return evaluateRules(deps.db, effectiveRules(deps.config.monitoring.ruleOverrides), figures, at, {
    correlationId,
  });
}

export function plan(deps: MonitorDeps, at: Date) {
  return planNotifications(deps.db, notifyConfigOf(deps), at);
}

export function deliver(deps: MonitorDeps, at: Date) {
  return deliverNotifications(deps.db, notifyConfigOf(deps), at);
}
