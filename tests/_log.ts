// A logger that keeps every line, for assertions on log output.
import type { LogFields, Logger } from "../mod.ts";

/** One captured log line. */
export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  msg: string;
  fields: LogFields;
}

/** A logger that keeps every line in `lines` (fields `{}` when none were given). */
export function captureLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine["level"]) => (msg: string, fields?: LogFields) => {
    lines.push({ level, msg, fields: fields ?? {} });
  };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
