import pino from "pino";
import type { LogLevel } from "../config/schema";
import { createScrubber } from "./scrub";

export type Logger = pino.Logger;

export interface LoggerOptions {
  level: LogLevel;
  /** Secret values (from config) that must never appear in a log line. */
  secrets: readonly string[];
  /** Where lines go; default stdout. Tests pass a collecting stream. */
  destination?: { write(line: string): unknown };
  base?: Record<string, unknown>;
}

/** Field paths whose values are always secrets, whatever they hold. */
const REDACT_PATHS = [
  "authorization",
  "headers.authorization",
  "req.headers.authorization",
  "request.headers.authorization",
  "*.authorization",
  "*.token",
  "*.apiKey",
  "*.password",
  "*.secret",
  "*.signingKey",
  "*.eventKey",
  "*.privateKey",
];

/** Structured JSON logs; secrets are removed by path and, as a last line of defence, by value. */
export function createLogger(options: LoggerOptions): Logger {
  const scrub = createScrubber(options.secrets);
  return pino(
    {
      level: options.level,
      base: { app: "ballast", ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
      hooks: { streamWrite: scrub },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
