/**
 * The logging interface the seed writes to, three ready loggers, and the
 * adapter for fields-first (pino, bunyan) loggers. Fields are structured
 * (an object), never formatted into the message, so a host can route them
 * to any log pipeline.
 *
 * @module
 */

/** Structured fields of a log line. */
export type LogFields = Record<string, unknown>;

/** Where the seed writes its log lines. Any host logger fits behind it. */
export interface Logger {
  /** Detail for debugging. */
  debug(msg: string, fields?: LogFields): void;
  /** Normal progress, e.g. a provider seeded. */
  info(msg: string, fields?: LogFields): void;
  /** Something was ignored or skipped. */
  warn(msg: string, fields?: LogFields): void;
  /** Something failed without stopping the seed (e.g. an audit sink). */
  error(msg: string, fields?: LogFields): void;
}

/** Log levels, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** A logger that drops everything. The seed's default: no surprise output. */
export const noopLogger: Logger = {
  debug(): void {},
  info(): void {},
  warn(): void {},
  error(): void {},
};

function fieldText(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value) ?? String(value);
}

/** Options of {@link consoleLogger}. */
export interface ConsoleLoggerOptions {
  /** Lowest level written; default `info`. */
  level?: LogLevel;
}

/**
 * A logger writing one human-readable line per entry to the console
 * (`level  message  key=value …`); warnings and errors go to stderr.
 *
 * @example
 * ```ts
 * import { consoleLogger } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 * const logger = consoleLogger({ level: "warn" });
 * const printed: string[] = [];
 * const { error } = console;
 * console.error = (line: string) => void printed.push(line); // warn and error go to stderr
 * try {
 *   logger.info("seeded", { name: "openai" }); // below the level: dropped
 *   logger.warn("skipping provider", { name: "openai" });
 * } finally {
 *   console.error = error;
 * }
 * assert.deepEqual(printed, ["WARN  skipping provider  name=openai"]);
 * ```
 *
 * @param options Minimum level.
 * @returns The logger.
 */
export function consoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  const min = LEVELS.indexOf(options.level ?? "info");
  const line = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (LEVELS.indexOf(level) < min) return;
    const tail = Object.entries(fields ?? {}).map(([k, v]) => `${k}=${fieldText(v)}`).join(" ");
    const text = `${level.toUpperCase().padEnd(5)} ${msg}${tail ? `  ${tail}` : ""}`;
    if (level === "warn" || level === "error") console.error(text);
    else console.log(text);
  };
  return {
    debug: (msg, fields) => line("debug", msg, fields),
    info: (msg, fields) => line("info", msg, fields),
    warn: (msg, fields) => line("warn", msg, fields),
    error: (msg, fields) => line("error", msg, fields),
  };
}

/**
 * A logger writing one JSON object per entry (`{"time","level","msg",…fields}`)
 * to `write`, for log pipelines.
 *
 * @example
 * ```ts
 * import { jsonLogger } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 * const lines: string[] = [];
 * const logger = jsonLogger((line) => lines.push(line));
 * logger.info("seeded", { name: "openai" });
 * const { level, msg, name } = JSON.parse(lines[0]);
 * assert.deepEqual({ level, msg, name }, { level: "info", msg: "seeded", name: "openai" });
 * ```
 *
 * @param write Receives each line, without a trailing newline.
 * @returns The logger.
 */
export function jsonLogger(write: (line: string) => void): Logger {
  const line = (level: LogLevel, msg: string, fields?: LogFields): void => {
    // time, level and msg come first and win over fields of the same name.
    const head = { time: new Date().toISOString(), level, msg };
    write(JSON.stringify(Object.assign({}, head, fields, head)));
  };
  return {
    debug: (msg, fields) => line("debug", msg, fields),
    info: (msg, fields) => line("info", msg, fields),
    warn: (msg, fields) => line("warn", msg, fields),
    error: (msg, fields) => line("error", msg, fields),
  };
}

/**
 * A pino- or bunyan-style logger: each method takes the structured fields
 * first and the message second, `logger.info({ name }, "seeded")`. Passed
 * as a {@link Logger} as it is, it would receive the message where it
 * expects the fields and drop every field: adapt it with
 * {@link fieldsFirstLogger}.
 */
export interface FieldsFirstLogger {
  /** Detail for debugging. */
  debug(fields: LogFields, msg: string): void;
  /** Normal progress. */
  info(fields: LogFields, msg: string): void;
  /** Something was ignored or skipped. */
  warn(fields: LogFields, msg: string): void;
  /** Something failed without stopping the seed. */
  error(fields: LogFields, msg: string): void;
}

/**
 * Adapts a fields-first logger (pino, bunyan, or a child of one) to
 * {@link Logger}: `warn(msg, fields)` becomes `logger.warn(fields, msg)`,
 * called as a method of `logger` (pino's methods need their `this`), with
 * a copy of the fields (`{}` when there are none). Winston, LogTape and
 * `console` take `(msg, fields)` already and need no adapter.
 *
 * @example
 * ```ts
 * import { fieldsFirstLogger } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 * const lines: unknown[][] = [];
 * // Any (fields, msg) logger, e.g. pino({ level: "debug" }):
 * const pinoLike = {
 *   debug: (fields: object, msg: string) => void lines.push(["debug", msg, fields]),
 *   info: (fields: object, msg: string) => void lines.push(["info", msg, fields]),
 *   warn: (fields: object, msg: string) => void lines.push(["warn", msg, fields]),
 *   error: (fields: object, msg: string) => void lines.push(["error", msg, fields]),
 * };
 * const logger = fieldsFirstLogger(pinoLike);
 * logger.info("seeded AI provider", { name: "openai" });
 * logger.warn("nothing to seed");
 * assert.deepEqual(lines, [["info", "seeded AI provider", { name: "openai" }], ["warn", "nothing to seed", {}]]);
 * ```
 *
 * @param logger The fields-first logger.
 * @returns A {@link Logger} writing to it.
 */
export function fieldsFirstLogger(logger: FieldsFirstLogger): Logger {
  return {
    debug: (msg, fields) => logger.debug({ ...fields }, msg),
    info: (msg, fields) => logger.info({ ...fields }, msg),
    warn: (msg, fields) => logger.warn({ ...fields }, msg),
    error: (msg, fields) => logger.error({ ...fields }, msg),
  };
}
