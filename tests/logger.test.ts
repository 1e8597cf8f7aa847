// The ready loggers: consoleLogger (levels, streams, line format),
// jsonLogger (one JSON object per line) and noopLogger (docs/behaviour.md,
// "Logs and audit"); fieldsFirstLogger, the adapter for pino-style loggers.
import assert from "node:assert/strict";
import { test } from "node:test";
import { consoleLogger, fieldsFirstLogger, jsonLogger, type Logger, noopLogger, seedAIProvidersFromEnv } from "../mod.ts";
import { withDatabase } from "./_db.ts";

/** What console.log and console.error received while `fn` ran; both are restored afterwards. */
function captureConsole(fn: () => void): { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...args: unknown[]) => void out.push(args.map(String).join(" "));
  console.error = (...args: unknown[]) => void err.push(args.map(String).join(" "));
  try {
    fn();
  } finally {
    console.log = log;
    console.error = error;
  }
  return { out, err };
}

function everyLevel(logger: Logger): void {
  logger.debug("a debug line", { n: 1 });
  logger.info("an info line", { n: 2 });
  logger.warn("a warn line", { n: 3 });
  logger.error("an error line", { n: 4 });
}

test("consoleLogger writes info to stdout and warn and error to stderr, and drops debug by default", () => {
  const { out, err } = captureConsole(() => everyLevel(consoleLogger()));
  assert.deepEqual(out, ["INFO  an info line  n=2"]);
  assert.deepEqual(err, ["WARN  a warn line  n=3", "ERROR an error line  n=4"]);
});

test("consoleLogger writes every level from its minimum up", () => {
  const debug = captureConsole(() => everyLevel(consoleLogger({ level: "debug" })));
  assert.deepEqual(debug.out, ["DEBUG a debug line  n=1", "INFO  an info line  n=2"]);
  assert.deepEqual(debug.err, ["WARN  a warn line  n=3", "ERROR an error line  n=4"]);

  const warn = captureConsole(() => everyLevel(consoleLogger({ level: "warn" })));
  assert.deepEqual(warn.out, []);
  assert.deepEqual(warn.err, ["WARN  a warn line  n=3", "ERROR an error line  n=4"]);

  const error = captureConsole(() => everyLevel(consoleLogger({ level: "error" })));
  assert.deepEqual(error.out, []);
  assert.deepEqual(error.err, ["ERROR an error line  n=4"]);
});

test("consoleLogger writes fields as key=value, quoting strings with blanks, quotes or =, and JSON for the rest", () => {
  const when = new Date("2026-01-02T03:04:05.678Z");
  const { out } = captureConsole(() => {
    const logger = consoleLogger();
    logger.info("no fields");
    logger.info("empty fields", {});
    logger.info("fields", {
      name: "openai",
      url: "https://api.openai.com/v1",
      spaced: "two words",
      quoted: 'say "hi"',
      eq: "a=b",
      empty: "",
      count: 3,
      ok: true,
      none: null,
      list: ["a", 1],
      when,
    });
  });
  assert.deepEqual(out, [
    "INFO  no fields",
    "INFO  empty fields",
    'INFO  fields  name=openai url=https://api.openai.com/v1 spaced="two words" quoted="say \\"hi\\"" eq="a=b" empty="" count=3 ok=true none=null list=["a",1] when=2026-01-02T03:04:05.678Z',
  ]);
});

test("consoleLogger writes one line per entry: a message with a newline stays one console call", () => {
  const { out } = captureConsole(() => consoleLogger().info("first\nsecond", { k: "v" }));
  assert.equal(out.length, 1);
  assert.equal(out[0], "INFO  first\nsecond  k=v");
});

test("jsonLogger writes one JSON object per entry: time, level, msg, then the fields", () => {
  const lines: string[] = [];
  const logger = jsonLogger((line) => lines.push(line));
  const before = Date.now();
  everyLevel(logger);
  logger.info("no fields");
  const after = Date.now();
  assert.equal(lines.length, 5, "debug too: jsonLogger has no minimum level");
  for (const line of lines) {
    assert.ok(!line.includes("\n"), "no newline in or after a line");
    const time = Date.parse(JSON.parse(line).time);
    assert.ok(time >= before - 1 && time <= after + 1, `time ${JSON.parse(line).time} is the time of the call`);
  }
  const parsed = lines.map((l) => JSON.parse(l));
  assert.deepEqual(parsed.map((p) => Object.keys(p)), [
    ["time", "level", "msg", "n"],
    ["time", "level", "msg", "n"],
    ["time", "level", "msg", "n"],
    ["time", "level", "msg", "n"],
    ["time", "level", "msg"],
  ]);
  assert.deepEqual(parsed.map(({ level, msg, n }) => ({ level, msg, n })), [
    { level: "debug", msg: "a debug line", n: 1 },
    { level: "info", msg: "an info line", n: 2 },
    { level: "warn", msg: "a warn line", n: 3 },
    { level: "error", msg: "an error line", n: 4 },
    { level: "info", msg: "no fields", n: undefined },
  ]);
  assert.match(parsed[0].time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test("jsonLogger writes nothing to the console itself", () => {
  const lines: string[] = [];
  const { out, err } = captureConsole(() => everyLevel(jsonLogger((line) => lines.push(line))));
  assert.equal(lines.length, 4);
  assert.deepEqual([out, err], [[], []]);
});

test("noopLogger has every level and writes nothing anywhere", () => {
  const { out, err } = captureConsole(() => {
    everyLevel(noopLogger);
    assert.equal(noopLogger.info("x"), undefined);
  });
  assert.deepEqual([out, err], [[], []]);
});

test("a seed logs through jsonLogger: structured fields, the key masked, one object per line", async () => {
  await withDatabase(async ({ sql }) => {
    const lines: string[] = [];
    await seedAIProvidersFromEnv(sql, {
      env: { CODER_AIBRIDGE_OPENAI_KEY: "sk-json-logger-secret-0001" },
      logger: jsonLogger((line) => lines.push(line)),
    });
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(parsed.map((p) => p.msg), [
      "seeded ai provider from environment",
      "env-seeded ai provider",
      "env-seeded ai provider key",
    ]);
    assert.deepEqual(parsed.map((p) => p.level), ["info", "info", "info"]);
    assert.deepEqual({ name: parsed[0].name, type: parsed[0].type, key_count: parsed[0].key_count }, {
      name: "openai",
      type: "openai",
      key_count: 1,
    });
    assert.equal(parsed[2].api_key, "sk-j...0001");
    assert.ok(!lines.join("\n").includes("sk-json-logger-secret-0001"), "the key never in clear");
  });
});

// A stand-in for pino (no dependency on it): methods typed as pino's LogFn
// overloads, which need their `this` (the level and the destination live on
// the instance), and a level below which they drop the entry.
type PinoLogFn = {
  <T extends object>(obj: T, msg?: string, ...args: unknown[]): void;
  (obj: unknown, msg?: string, ...args: unknown[]): void;
  (msg: string, ...args: unknown[]): void;
};

type PinoLevel = "debug" | "info" | "warn" | "error";
const PINO_LEVELS: Record<PinoLevel, number> = { debug: 20, info: 30, warn: 40, error: 50 };

// Each method reads the instance through `this`, as pino's do: called
// detached, it would throw.
function pinoMethod(level: PinoLevel): PinoLogFn {
  return function (this: FakePino, first: unknown, msg?: unknown) {
    if (PINO_LEVELS[level] < PINO_LEVELS[this.level]) return;
    // pino: an object first is merged into the line, the string after it is msg.
    const fields = typeof first === "object" && first !== null ? first : {};
    this.lines.push({ level: PINO_LEVELS[level], ...fields, msg: typeof first === "string" ? first : msg });
  };
}

class FakePino {
  readonly lines: Record<string, unknown>[] = [];
  constructor(readonly level: PinoLevel) {}
  debug: PinoLogFn = pinoMethod("debug");
  info: PinoLogFn = pinoMethod("info");
  warn: PinoLogFn = pinoMethod("warn");
  error: PinoLogFn = pinoMethod("error");
}

test("fieldsFirstLogger hands a pino-style logger (fields, msg), as methods, every level, fields copied", () => {
  const pino = new FakePino("debug");
  const logger: Logger = fieldsFirstLogger(pino);
  const fields = { n: 1, name: "openai" };
  logger.debug("a debug line", fields);
  logger.info("an info line", { n: 2 });
  logger.warn("a warn line");
  logger.error("an error line", { n: 4 });
  assert.deepEqual(pino.lines, [
    { level: 20, n: 1, name: "openai", msg: "a debug line" },
    { level: 30, n: 2, msg: "an info line" },
    { level: 40, msg: "a warn line" },
    { level: 50, n: 4, msg: "an error line" },
  ]);
  assert.deepEqual(fields, { n: 1, name: "openai" }, "the caller's fields are not touched");

  // Passed as it is, the same logger type-checks but receives the message
  // where it expects the fields: every field is lost. That is the bug the
  // adapter exists for.
  const raw = new FakePino("debug");
  (raw as unknown as Logger).info("an info line", { n: 2 });
  assert.deepEqual(raw.lines, [{ level: 30, msg: "an info line" }]);
});

test("a seed logs through fieldsFirstLogger(pino-like): the fields arrive, the key masked, the host's level applies", async () => {
  await withDatabase(async ({ sql }) => {
    const pino = new FakePino("info");
    await seedAIProvidersFromEnv(sql, {
      env: { CODER_AIBRIDGE_OPENAI_KEY: "sk-pino-logger-secret-0001" },
      logger: fieldsFirstLogger(pino),
    });
    assert.deepEqual(pino.lines.map((l) => l.msg), [
      "seeded ai provider from environment",
      "env-seeded ai provider",
      "env-seeded ai provider key",
    ]);
    assert.deepEqual({ name: pino.lines[0].name, type: pino.lines[0].type, key_count: pino.lines[0].key_count }, {
      name: "openai",
      type: "openai",
      key_count: 1,
    });
    assert.equal(pino.lines[2].api_key, "sk-p...0001");
    assert.ok(!JSON.stringify(pino.lines).includes("sk-pino-logger-secret-0001"), "the key never in clear");
  });
});
