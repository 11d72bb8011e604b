/** Structured logging with levels (pino, JSON lines on stdout); one root logger, children per part. */
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string, name = "axviam"): Logger {
  return pino({ name, level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that drops everything: for tests that exercise code which logs. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
