/**
 * The `aibridge-seed` command line: `plan`, `check`, `apply`, `schema` and
 * `encryption rotate|decrypt|status`.
 * Runtime-free: arguments, environment and output streams come in through
 * {@link CliIO}, and the exit code goes out, so it runs the same on Deno,
 * Bun and Node and is tested in-process as well as as a child process.
 *
 * @module
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { parseDotenv } from "../lib/dotenv.ts";
import { decryptAtRest, encryptionStatus, rotateEncryptionKeys } from "../lib/encryption.ts";
import { planSeed } from "../lib/plan_seed.ts";
import { type EnvRecord, readTextFile } from "../lib/runtime_env.ts";
import { applySchema, SCHEMA_SQL } from "../lib/schema.ts";
import { seedAIProvidersFromEnv } from "../lib/seed.ts";
import { DEFAULT_LOCK_TIMEOUT_MS, DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS, SEED_APPLICATION_NAME, type Sql } from "../lib/types.ts";
import {
  colourOn,
  type EncryptionAction,
  encryptionDocument,
  errorDocument,
  errorLine,
  formatApply,
  formatEncryptionRewrite,
  formatEncryptionStatus,
  formatNotices,
  formatPlan,
  type Paint,
  paintFor,
  resultDocument,
  UsageError,
} from "./_format.ts";
import { CHANGE_COMMANDS_HELP, CHANGE_HELP, type ChangeCommand, runChange, YES_HELP } from "./_adopt.ts";
import { CLI_JSON_VERSION, type CliJsonDocument } from "./_json.ts";
import { didYouMean } from "./_suggest.ts";
import { VERSION } from "./_version.ts";

export type { CliJsonDocument, CliJsonError } from "./_json.ts";
export { CLI_JSON_VERSION } from "./_json.ts";

/** What the CLI talks to: its arguments come separately, everything else here. */
export interface CliIO {
  /** Writes to standard output (the text carries its own newlines). */
  stdout(text: string): void;
  /** Writes to standard error. */
  stderr(text: string): void;
  /** The process environment. */
  env: EnvRecord;
  /** Whether standard output is a terminal (colours by default only then). */
  isTTY: boolean;
  /** Whether standard error is a terminal, for the colours of the warnings there; default `isTTY`. */
  stderrIsTTY?: boolean;
  /**
   * Set when the environment could not be read (Deno without `--allow-env`),
   * to the error saying so: `env` is then empty, and every command that
   * reads the environment fails with it (with `--json`, as the error
   * document); `--help`, `--version` and `schema --print` still work.
   */
  envError?: unknown;
  /**
   * Asks a yes/no question on the terminal (`adopt` and `restore` ask
   * before they write); absent when stdin is not a terminal, and then
   * they need `--yes`.
   */
  confirm?(question: string): Promise<boolean>;
}

/** Exit code: success; for `check`, nothing would change. */
export const EXIT_OK = 0;
/** Exit code: an error (configuration, database, drift on apply, lock timeout, usage). */
export const EXIT_ERROR = 1;
/** Exit code of `check`: something would be inserted or has drifted. */
export const EXIT_CHANGES = 2;

type Command = "plan" | "check" | "apply" | "schema" | "encryption" | ChangeCommand;
const ENCRYPTION_ACTIONS: readonly EncryptionAction[] = ["rotate", "decrypt", "status"];
type OptionName =
  | "database-url"
  | "env-file"
  | "json"
  | "lock-timeout"
  | "timeout"
  | "print"
  | "strict"
  | "help"
  | "dotenv"
  | "connect-timeout"
  | "no-color"
  | "version"
  | "yes";

const OPTIONS = {
  "database-url": { type: "string" },
  dotenv: { type: "string", multiple: true },
  "env-file": { type: "string", multiple: true },
  json: { type: "boolean" },
  "lock-timeout": { type: "string" },
  timeout: { type: "string" },
  "connect-timeout": { type: "string" },
  print: { type: "boolean" },
  strict: { type: "boolean" },
  "no-color": { type: "boolean" },
  version: { type: "boolean" },
  yes: { type: "boolean", short: "y" },
  help: { type: "boolean", short: "h" },
} as const;

const COMMAND_OPTIONS: Record<Command, readonly OptionName[]> = {
  plan: ["database-url", "dotenv", "json", "lock-timeout", "timeout", "connect-timeout", "strict", "no-color", "help"],
  check: ["database-url", "dotenv", "json", "lock-timeout", "timeout", "connect-timeout", "strict", "no-color", "help"],
  apply: ["database-url", "dotenv", "json", "lock-timeout", "timeout", "connect-timeout", "strict", "no-color", "help"],
  schema: ["database-url", "dotenv", "json", "lock-timeout", "connect-timeout", "print", "no-color", "help"],
  encryption: ["database-url", "dotenv", "json", "lock-timeout", "timeout", "connect-timeout", "no-color", "help"],
  adopt: ["database-url", "dotenv", "json", "lock-timeout", "timeout", "connect-timeout", "yes", "no-color", "help"],
  restore: ["database-url", "dotenv", "json", "lock-timeout", "timeout", "connect-timeout", "yes", "no-color", "help"],
};

const NAME = "aibridge-seed";

/** The default of `--connect-timeout`, in seconds (`connect_timeout` of postgres.js). */
const DEFAULT_CONNECT_TIMEOUT_S = 10;

// After an empty plan: what was looked for, and that the tables were checked.
const TABLES_CHECKED =
  "No CODER_AIBRIDGE_* or CODER_AI_GATEWAY_* provider variable is set; the ai_providers tables are present and usable.";

const OPTION_HELP: Record<OptionName, string> = {
  "database-url": "  --database-url <url>   PostgreSQL URL. Default: $DATABASE_URL, else the file $DATABASE_URL_FILE names,\n" +
    "                         else the libpq variables PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE",
  dotenv: "  --dotenv <path>        Also read variables from this dotenv file (repeatable, later files win);\n" +
    "                         a variable set (non-empty) in the real environment wins over every file.\n" +
    "                         Alias --env-file (on Node, Node itself stops on a missing --env-file file)",
  "env-file": "  --env-file <path>      Alias of --dotenv",
  json: `  --json                 Print one JSON document on stdout ("version": ${CLI_JSON_VERSION}), errors included`,
  "lock-timeout": `  --lock-timeout <time>  How long to wait for the seed lock (or behind a lock on the tables):\n` +
    `                         30s, 500ms, 2m or milliseconds; 0 waits forever. Default ${DEFAULT_LOCK_TIMEOUT_MS / 1000}s`,
  timeout: `  --timeout <time>       Deadline of the whole run against the database; 0 for none. Default ${DEFAULT_TIMEOUT_MS / 1000}s`,
  "connect-timeout":
    `  --connect-timeout <time>\n                         How long to wait for the connection to PostgreSQL; 0 for no limit.\n` +
    `                         Default $PGCONNECT_TIMEOUT seconds, else ${DEFAULT_CONNECT_TIMEOUT_S}s`,
  "no-color": "  --no-color             No colours, even on a terminal",
  version: "  --version              Print the version of @aibridge/seed",
  print: "  --print                Print the schema SQL instead of applying it (no database needed)",
  strict: "  --strict               Fail (exit 1, nothing sent) on any configuration warning, such as an unknown\n" +
    "                         or misspelled CODER_AIBRIDGE_* / CODER_AI_GATEWAY_* variable",
  yes: YES_HELP,
  help: "  -h, --help             Show this help",
};

const TOP_HELP = `${NAME}: seed AI provider definitions from environment variables into PostgreSQL

Usage: ${NAME} <command> [options]

Commands:
  plan     Show what apply would do, provider by provider, with field-level drift; writes nothing
  check    The plan as a CI gate: exit 0 when nothing would change, 2 when something would be
           inserted or has drifted, 1 on error
  apply    Insert the providers that are missing (with their keys) and print the report
  schema   Create the tables if missing (or print their SQL with --print)
  encryption rotate|decrypt|status
           Re-encrypt every stored key under the first encryption key, decrypt everything,
           or show which key encrypts what
${CHANGE_COMMANDS_HELP}
  version  Print the version (also --version)
  help [command]
           This help, or a command's (also --help); with no arguments at all, this help

Options:
${
  (["database-url", "dotenv", "json", "lock-timeout", "timeout", "connect-timeout", "no-color", "version", "help"] as const).map((o) =>
    OPTION_HELP[o]
  ).join("\n")
}

Providers come from CODER_AIBRIDGE_* / CODER_AI_GATEWAY_* variables; any of them may be given
as NAME_FILE, the path of a file holding the value. Keys are always shown masked.
Encryption keys come from CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS (or _FILE), as in Coder.
The table (or the --json document) goes to stdout; warnings and errors to stderr.
Colours only on a terminal, never with --no-color, NO_COLOR or TERM=dumb; always with FORCE_COLOR=1.
Exit codes: 0 success (and this help), 1 error (usage errors too), 2 (check only) changes pending.
Run '${NAME} <command> --help' for a command's options.`;

const COMMAND_HELP: Record<Command, string> = {
  ...CHANGE_HELP,
  plan: `Usage: ${NAME} plan [options]

Reads the providers from the environment and the rows of ai_providers (one
statement, no lock, no transaction) and shows, per provider, what apply would
do: insert (with its keys, masked), unchanged, skip-deleted (an operator
deleted it; deletion is sticky) or drift (every field that differs, database
value -> environment value). Writes nothing. Exits 0 unless it fails.`,
  check: `Usage: ${NAME} check [options]

The plan as a CI gate, with the Terraform/decK exit codes:
  0  nothing would change (every provider unchanged or deleted)
  2  something would be inserted, or a stored provider has drifted
  1  error (invalid configuration, database unreachable, tables missing, …)

With nothing configured it still connects and checks the tables. A warning
names each unknown or misspelled variable and the name it probably meant;
with --strict warnings are errors: exit 1, nothing sent.`,
  apply: `Usage: ${NAME} apply [options]

Seeds the providers: inserts the missing ones with their keys, leaves equal
and deleted ones alone, and fails on drift without writing anything. When a
read without the lock shows nothing to do, no lock is taken; otherwise it
waits for advisory lock 10 at most --lock-timeout and, on timeout, names
the session holding it. Exits 0 on success, 1 on any error.`,
  schema: `Usage: ${NAME} schema [options]

Creates the ai_provider_type enum and the ai_providers and ai_provider_keys
tables when missing (idempotent, safe to run from several places at once), or
prints their SQL with --print.`,
  encryption: `Usage: ${NAME} encryption rotate|decrypt|status [options]

Encryption at rest, compatible with Coder's dbcrypt. The keys come from
CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS (or CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS_FILE),
in the environment or an --env-file: base64 of 32 bytes each, comma-separated,
the first one encrypts. Only key ids (digests) are ever printed.

  rotate   Re-encrypt every API key and Bedrock settings value not under the first
           key (plaintext ones too), register that key in dbcrypt_keys, and revoke
           every other active key nothing uses any more (a key another table still
           references is listed, not revoked). One transaction under advisory lock
           10: all or nothing. Running it again is safe.
  decrypt  Turn every value back to plaintext and revoke the keys nothing uses.
           Every key that encrypted a value must be configured.
  status   Values per key id (plaintext under "plaintext"), the dbcrypt_keys rows,
           and the key ids in use that are not configured. Read-only; exits 0
           unless it cannot read the database.`,
};

function commandHelp(command: Command): string {
  return `${COMMAND_HELP[command]}\n\nOptions:\n${COMMAND_OPTIONS[command].map((o) => OPTION_HELP[o]).join("\n")}`;
}

function isCommand(value: string): value is Command {
  return value in COMMAND_OPTIONS;
}

/**
 * Parses a lock timeout: `30s`, `500ms`, `2m`, `1.5s`, or a number of
 * milliseconds. `0` waits forever.
 *
 * @throws {UsageError} when the value is not such a duration.
 */
export function parseDuration(value: string, option = "--lock-timeout"): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  const ms = m === null ? Number.NaN : Math.round(Number(m[1]) * (m[2] === "s" ? 1000 : m[2] === "m" ? 60_000 : 1));
  if (!Number.isSafeInteger(ms) || ms > MAX_TIMEOUT_MS) {
    throw new UsageError(
      `${option} ${JSON.stringify(value)} is not a duration; use e.g. 30s, 500ms, 2m or 30000 (milliseconds), 0 for no limit`,
    );
  }
  return ms;
}

/** A dotenv file named on the command line, and the option that named it. */
interface DotenvFile {
  option: "--dotenv" | "--env-file";
  path: string;
}

interface Parsed {
  command: Command | null;
  /** `--dotenv` and `--env-file` files, in command-line order. */
  dotenv: DotenvFile[];
  /** `encryption` only: its subcommand. */
  action?: EncryptionAction;
  /** `adopt`, `restore`: the provider names. */
  names?: string[];
  values: Partial<
    {
      "database-url": string;
      dotenv: string[];
      "env-file": string[];
      json: boolean;
      "lock-timeout": string;
      timeout: string;
      "connect-timeout": string;
      print: boolean;
      strict: boolean;
      "no-color": boolean;
      version: boolean;
      help: boolean;
      yes: boolean;
    }
  >;
}

const COMMANDS: readonly string[] = [...Object.keys(COMMAND_OPTIONS), "help", "version"];
const LONG_OPTIONS: readonly string[] = Object.keys(OPTIONS).filter((o) => o !== "env-file").map((o) => `--${o}`);

function parse(argv: string[]): Parsed {
  let result;
  try {
    result = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const quoted = /'(-[^' ]*)/.exec((err as Error).message)?.[1];
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const hint = quoted === undefined ? "" : didYouMean(quoted.split("=")[0], LONG_OPTIONS);
      throw new UsageError(`unknown option ${quoted ?? ""}${hint}; see ${NAME} --help`.replace("option ;", "option;"));
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && quoted !== undefined) {
      const needsValue = OPTIONS[quoted.replace(/^--/, "") as OptionName]?.type === "string";
      throw new UsageError(needsValue ? `${quoted} needs a value; see ${NAME} --help` : `${quoted} takes no value; see ${NAME} --help`);
    }
    throw new UsageError(`${(err as Error).message.split(".")[0]}; see ${NAME} --help`);
  }
  const values = result.values as Parsed["values"];
  // --env-file is --dotenv's alias; the files are read in the order given, whichever option named them.
  const dotenv = result.tokens.flatMap((t) =>
    t.kind === "option" && (t.name === "dotenv" || t.name === "env-file") && t.value !== undefined
      ? [{ option: `--${t.name}` as DotenvFile["option"], path: t.value }]
      : []
  );
  const [first, ...extra] = result.positionals;
  if (first === undefined) return { command: null, dotenv, values };
  if (first === "version") {
    // `aibridge-seed version` is `aibridge-seed --version`.
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}; see ${NAME} --help`);
    const other = Object.keys(values).find((o) => !["json", "no-color", "version", "help"].includes(o));
    if (other !== undefined) throw new UsageError(`--${other} does not apply to version; see ${NAME} --help`);
    return { command: null, dotenv, values: { ...values, version: true } };
  }
  if (first === "help") {
    // `aibridge-seed help [command]` is `aibridge-seed [command] --help`.
    if (extra.length > 0 && !isCommand(extra[0])) {
      throw new UsageError(`unknown command ${JSON.stringify(extra[0])}${didYouMean(extra[0], COMMANDS)}; see ${NAME} --help`);
    }
    return { command: (extra[0] as Command | undefined) ?? null, dotenv, values: { ...values, help: true } };
  }
  if (!isCommand(first)) throw new UsageError(`unknown command ${JSON.stringify(first)}${didYouMean(first, COMMANDS)}; see ${NAME} --help`);
  let action: EncryptionAction | undefined;
  if (first === "encryption") {
    action = extra.shift() as EncryptionAction | undefined;
    if ((action === undefined && !values.help) || (action !== undefined && !ENCRYPTION_ACTIONS.includes(action))) {
      const hint = action === undefined ? "" : didYouMean(action, ENCRYPTION_ACTIONS);
      throw new UsageError(`${NAME} encryption needs rotate, decrypt or status${hint}; see ${NAME} encryption --help`);
    }
  }
  // adopt and restore take the provider names.
  const names = first === "adopt" || first === "restore" ? extra.splice(0) : undefined;
  if (names?.length === 0 && !values.help) {
    throw new UsageError(`${NAME} ${first} needs at least one provider name; see ${NAME} ${first} --help`);
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}; see ${NAME} ${first} --help`);
  for (const name of Object.keys(values) as OptionName[]) {
    // --version applies everywhere; --env-file wherever --dotenv does.
    if (name !== "version" && !COMMAND_OPTIONS[first].includes(name === "env-file" ? "dotenv" : name)) {
      throw new UsageError(`--${name} does not apply to ${first}; see ${NAME} ${first} --help`);
    }
  }
  return { command: first, dotenv, action, names, values };
}

// The environment the providers are read from: the env files, then the
// real environment on top (like the demo: what the operator exported wins
// over what a file suggests). An empty variable counts as unset, as
// everywhere else, so it does not hide a file's value.
function mergedEnv(io: CliIO, envFiles: DotenvFile[]): EnvRecord {
  if (io.envError !== undefined) throw io.envError;
  const fromFiles: Record<string, string> = {};
  for (const { option, path } of envFiles) {
    let text: string;
    try {
      text = readTextFile(path);
    } catch (err) {
      throw new UsageError(`cannot read ${option} ${JSON.stringify(path)}: ${(err as Error).message}`);
    }
    Object.assign(fromFiles, parseDotenv(text));
  }
  const env: EnvRecord = { ...fromFiles };
  for (const [k, v] of Object.entries(io.env)) if (v !== undefined && v !== "") env[k] = v;
  return env;
}

/** The libpq variables that, without a database URL, say where to connect (`PGSSLMODE` alone does not). */
const LIBPQ_TARGET = ["PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD"] as const;
const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;

/** postgres.js options a connection target sets; a key is present only when its value is known. */
interface TargetOptions {
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  ssl?: boolean | "allow" | "prefer" | "require" | "verify-full";
}

/** Where the CLI connects: a URL, or (without one) what the libpq variables say. */
type ConnectionTarget = { url: string; options: TargetOptions } | { url: null; options: TargetOptions };

// PGSSLMODE as postgres.js understands a URL's sslmode: `disable` is no
// TLS; `verify-ca` verifies the host name as well, as `verify-full` does.
function sslMode(env: EnvRecord): TargetOptions["ssl"] | undefined {
  const mode = env.PGSSLMODE ?? "";
  if (mode === "") return undefined;
  if (!(SSL_MODES as readonly string[]).includes(mode)) {
    throw new UsageError(`PGSSLMODE ${JSON.stringify(mode)} is not one of ${SSL_MODES.join(", ")}`);
  }
  return mode === "disable" ? false : mode === "verify-ca" ? "verify-full" : mode as TargetOptions["ssl"];
}

// The URL from --database-url, DATABASE_URL or DATABASE_URL_FILE; else
// the libpq variables, read from the environment the CLI was given (the
// dotenv files included) and handed to postgres.js as options; else an
// error naming what is missing.
function connectionTarget(flag: string | undefined, env: EnvRecord): ConnectionTarget {
  let url = flag ?? "";
  if (url === "" && (env.DATABASE_URL ?? "") !== "") url = env.DATABASE_URL!;
  if (url === "" && (env.DATABASE_URL_FILE ?? "") !== "") {
    try {
      url = readTextFile(env.DATABASE_URL_FILE!).trim();
    } catch (err) {
      throw new UsageError(`cannot read DATABASE_URL_FILE ${JSON.stringify(env.DATABASE_URL_FILE)}: ${(err as Error).message}`);
    }
  }
  const ssl = sslMode(env);
  if (url === "") {
    const set = LIBPQ_TARGET.filter((name) => (env[name] ?? "") !== "");
    if (set.length === 0) {
      throw new UsageError(
        `no database to connect to: none of DATABASE_URL, DATABASE_URL_FILE, ${LIBPQ_TARGET.join(", ")} is set; ` +
          "pass --database-url, set DATABASE_URL, or set the libpq variables",
      );
    }
    const options: TargetOptions = {};
    if ((env.PGHOST ?? "") !== "") options.host = env.PGHOST;
    if ((env.PGPORT ?? "") !== "") {
      const port = /^\d{1,5}$/.test(env.PGPORT!) ? Number(env.PGPORT) : 0;
      if (port < 1 || port > 65535) throw new UsageError(`PGPORT ${JSON.stringify(env.PGPORT)} is not a port number`);
      options.port = port;
    }
    if ((env.PGDATABASE ?? "") !== "") options.database = env.PGDATABASE;
    if ((env.PGUSER ?? "") !== "") options.user = env.PGUSER;
    if ((env.PGPASSWORD ?? "") !== "") options.password = env.PGPASSWORD;
    if (ssl !== undefined) options.ssl = ssl;
    return { url: null, options };
  }
  // The URL usually holds a password: say what is wrong without echoing it.
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    // reported below
  }
  if (parsed === null || (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:")) {
    throw new UsageError("the database URL is not a postgres:// or postgresql:// URL");
  }
  // As libpq does, PGSSLMODE applies when the URL does not say.
  const urlSays = parsed.searchParams.has("sslmode") || parsed.searchParams.has("ssl");
  return { url, options: ssl === undefined || urlSays ? {} : { ssl } };
}

// --connect-timeout, else PGCONNECT_TIMEOUT (whole seconds, as libpq reads
// it), else the default; 0 waits as long as the network does.
function connectTimeout(flag: string | undefined, env: EnvRecord): number {
  if (flag !== undefined) return parseDuration(flag, "--connect-timeout") / 1000;
  const fromEnv = env.PGCONNECT_TIMEOUT ?? "";
  if (fromEnv === "") return DEFAULT_CONNECT_TIMEOUT_S;
  if (!/^\d+$/.test(fromEnv.trim()) || Number(fromEnv) * 1000 > MAX_TIMEOUT_MS) {
    throw new UsageError(`PGCONNECT_TIMEOUT ${JSON.stringify(fromEnv)} is not a number of seconds`);
  }
  return Number(fromEnv);
}

function connect(target: ConnectionTarget, connectTimeoutS: number): Sql {
  const options = {
    max: 1,
    onnotice: () => {},
    connect_timeout: connectTimeoutS,
    // Names every connection of the CLI in pg_stat_activity (the seed's
    // transaction says the same), so a blocked replica's LockTimeoutError
    // and a DBA see who holds lock 10.
    connection: { application_name: SEED_APPLICATION_NAME },
    ...target.options,
  };
  return (target.url === null ? postgres(options) : postgres(target.url, options)) as unknown as Sql;
}

/**
 * Runs `aibridge-seed` with `argv` (the arguments after the program name)
 * and resolves to its exit code: {@link EXIT_OK}, {@link EXIT_ERROR}, or
 * {@link EXIT_CHANGES} (`check` only). Never throws: every failure is one
 * `error: …` line on stderr (and, with `--json`, an error document on
 * stdout). The database client it opens is always closed.
 *
 * @example
 * ```ts
 * import { runCli } from "@aibridge/seed/run-cli";
 * import assert from "node:assert/strict";
 * let out = "";
 * const code = await runCli(["schema", "--print", "--json"], {
 *   stdout: (t) => (out += t),
 *   stderr: () => {},
 *   env: {},
 *   isTTY: false,
 * });
 * assert.equal(code, 0);
 * assert.equal(JSON.parse(out).command, "schema");
 * ```
 *
 * @param argv The arguments, e.g. `process.argv.slice(2)`.
 * @param io Output streams, environment and whether stdout is a terminal.
 * @returns The exit code.
 */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const json = argv.includes("--json");
  // Decided before the arguments are parsed: a usage error honours --no-color too.
  const noColor = argv.includes("--no-color");
  const paint = paintFor(colourOn(io.isTTY, io.env, noColor));
  const stderrPaint = paintFor(colourOn(io.stderrIsTTY ?? io.isTTY, io.env, noColor));
  let command: Command | null = null;
  const fail = (err: unknown): number => {
    io.stderr(`error: ${errorLine(err)}\n`);
    if (json) io.stdout(`${JSON.stringify(errorDocument(command, err), null, 2)}\n`);
    return EXIT_ERROR;
  };

  // No arguments at all: the help, as a success.
  if (argv.length === 0) {
    io.stdout(`${TOP_HELP}\n`);
    return EXIT_OK;
  }
  let parsed: Parsed;
  try {
    parsed = parse(argv);
  } catch (err) {
    return fail(err);
  }
  command = parsed.command;
  const { values } = parsed;
  if (values.help) {
    const help = command === null ? TOP_HELP : commandHelp(command);
    io.stdout(`${json ? JSON.stringify({ version: CLI_JSON_VERSION, command, ok: true, help }, null, 2) : help}\n`);
    return EXIT_OK;
  }
  if (values.version) {
    const doc: CliJsonDocument = { version: CLI_JSON_VERSION, command: "version", ok: true, packageVersion: VERSION };
    io.stdout(`${json ? JSON.stringify(doc, null, 2) : VERSION}\n`);
    return EXIT_OK;
  }
  if (command === null) return fail(new UsageError(`missing command (plan, check, apply, schema or encryption); see ${NAME} --help`));

  const emit = (doc: CliJsonDocument, human: string): void => {
    io.stdout(`${json ? JSON.stringify(doc, null, 2) : human}\n`);
    // In human mode a plan's or report's warnings (and audit failures) go to stderr; stdout keeps the table.
    const notices = json ? [] : formatNotices(doc, stderrPaint);
    if (notices.length > 0) io.stderr(`${notices.join("\n")}\n`);
  };
  if (command === "schema" && values.print) {
    emit({ version: CLI_JSON_VERSION, command, ok: true, applied: false, sql: SCHEMA_SQL }, SCHEMA_SQL.trim());
    return EXIT_OK;
  }

  let sql: Sql | null = null;
  try {
    const lockTimeoutMs = values["lock-timeout"] === undefined ? undefined : parseDuration(values["lock-timeout"]);
    const timeoutMs = values.timeout === undefined ? undefined : parseDuration(values.timeout, "--timeout");
    const env = mergedEnv(io, parsed.dotenv);
    const connectTimeoutS = connectTimeout(values["connect-timeout"], env);
    const target = connectionTarget(values["database-url"], env);
    sql = connect(target, connectTimeoutS);
    if (command === "adopt" || command === "restore") {
      return await runChange(command, {
        sql,
        env,
        names: parsed.names ?? [],
        bounds: { lockTimeoutMs, timeoutMs },
        yes: values.yes === true,
        json,
        confirm: io.confirm === undefined ? undefined : (question) => io.confirm!(question),
        paint,
        stdout: (text) => io.stdout(text),
        stderr: (text) => io.stderr(text),
      });
    }
    return await run(command, sql, env, { lockTimeoutMs, timeoutMs }, paint, emit, parsed.action, values.strict === true);
  } catch (err) {
    return fail(err);
  } finally {
    await sql?.end({ timeout: 5 }).catch(() => {});
  }
}

async function run(
  command: Exclude<Command, ChangeCommand>,
  sql: Sql,
  env: EnvRecord,
  bounds: { lockTimeoutMs: number | undefined; timeoutMs: number | undefined },
  paint: Paint,
  emit: (doc: CliJsonDocument, human: string) => void,
  action?: EncryptionAction,
  strict = false,
): Promise<number> {
  switch (command) {
    case "plan":
    case "check": {
      // The plan reads and checks the tables even when nothing is configured.
      const plan = await planSeed(sql, { env, ...bounds, strict });
      const human = formatPlan(plan, paint);
      emit(resultDocument(command, plan), plan.entries.length === 0 ? `${human}\n${TABLES_CHECKED}` : human);
      return command === "check" && plan.changes ? EXIT_CHANGES : EXIT_OK;
    }
    case "apply": {
      const report = await seedAIProvidersFromEnv(sql, { env, ...bounds, strict });
      emit(resultDocument("apply", report), formatApply(report, paint));
      return EXIT_OK;
    }
    case "schema": {
      await applySchema(sql, { lockTimeoutMs: bounds.lockTimeoutMs });
      emit(
        { version: CLI_JSON_VERSION, command, ok: true, applied: true },
        "Schema ready: the ai_provider_type enum and the ai_providers, ai_provider_keys, dbcrypt_keys and ai_provider_audit tables exist.",
      );
      return EXIT_OK;
    }
    case "encryption": {
      if (action === "status") {
        const status = await encryptionStatus(sql, { env, ...bounds });
        emit(encryptionDocument("status", status), formatEncryptionStatus(status, paint));
        return EXIT_OK;
      }
      const rewrite = action === "rotate" ? rotateEncryptionKeys : decryptAtRest;
      const result = await rewrite(sql, { env, ...bounds });
      emit(encryptionDocument(action!, result), formatEncryptionRewrite(action!, result, paint));
      return EXIT_OK;
    }
  }
}
