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
  type EncryptionAction,
  encryptionDocument,
  errorDocument,
  errorLine,
  formatApply,
  formatEncryptionRewrite,
  formatEncryptionStatus,
  formatPlan,
  type Paint,
  paintFor,
  resultDocument,
  UsageError,
} from "./_format.ts";
import { CLI_JSON_VERSION, type CliJsonDocument } from "./_json.ts";

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
  /** Whether standard output is a terminal (colours are used only then). */
  isTTY: boolean;
}

/** Exit code: success; for `check`, nothing would change. */
export const EXIT_OK = 0;
/** Exit code: an error (configuration, database, drift on apply, lock timeout, usage). */
export const EXIT_ERROR = 1;
/** Exit code of `check`: something would be inserted or has drifted. */
export const EXIT_CHANGES = 2;

type Command = "plan" | "check" | "apply" | "schema" | "encryption";
const ENCRYPTION_ACTIONS: readonly EncryptionAction[] = ["rotate", "decrypt", "status"];
type OptionName = "database-url" | "env-file" | "json" | "lock-timeout" | "timeout" | "print" | "strict" | "help";

const OPTIONS = {
  "database-url": { type: "string" },
  "env-file": { type: "string", multiple: true },
  json: { type: "boolean" },
  "lock-timeout": { type: "string" },
  timeout: { type: "string" },
  print: { type: "boolean" },
  strict: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const COMMAND_OPTIONS: Record<Command, readonly OptionName[]> = {
  plan: ["database-url", "env-file", "json", "lock-timeout", "timeout", "strict", "help"],
  check: ["database-url", "env-file", "json", "lock-timeout", "timeout", "strict", "help"],
  apply: ["database-url", "env-file", "json", "lock-timeout", "timeout", "strict", "help"],
  schema: ["database-url", "env-file", "json", "lock-timeout", "print", "help"],
  encryption: ["database-url", "env-file", "json", "lock-timeout", "timeout", "help"],
};

const NAME = "aibridge-seed";

// After an empty plan: what was looked for, and that the tables were checked.
const TABLES_CHECKED =
  "No CODER_AIBRIDGE_* or CODER_AI_GATEWAY_* provider variable is set; the ai_providers tables are present and usable.";

const OPTION_HELP: Record<OptionName, string> = {
  "database-url": "  --database-url <url>   PostgreSQL URL. Default: $DATABASE_URL, else the file $DATABASE_URL_FILE names",
  "env-file": "  --env-file <path>      Also read variables from this dotenv file (repeatable, later files win);\n" +
    "                         a variable set (non-empty) in the real environment wins over every file",
  json: `  --json                 Print one JSON document on stdout ("version": ${CLI_JSON_VERSION}), errors included`,
  "lock-timeout": `  --lock-timeout <time>  How long to wait for the seed lock (or behind a lock on the tables):\n` +
    `                         30s, 500ms, 2m or milliseconds; 0 waits forever. Default ${DEFAULT_LOCK_TIMEOUT_MS / 1000}s`,
  timeout: `  --timeout <time>       Deadline of the whole run against the database; 0 for none. Default ${DEFAULT_TIMEOUT_MS / 1000}s`,
  print: "  --print                Print the schema SQL instead of applying it (no database needed)",
  strict: "  --strict               Fail (exit 1, nothing sent) on any configuration warning, such as an unknown\n" +
    "                         or misspelled CODER_AIBRIDGE_* / CODER_AI_GATEWAY_* variable",
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

Options:
${["database-url", "env-file", "json", "lock-timeout", "timeout", "help"].map((o) => OPTION_HELP[o as OptionName]).join("\n")}

Providers come from CODER_AIBRIDGE_* / CODER_AI_GATEWAY_* variables; any of them may be given
as NAME_FILE, the path of a file holding the value. Keys are always shown masked.
Encryption keys come from CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS (or _FILE), as in Coder.
Colours only on a terminal, never with NO_COLOR set.
Exit codes: 0 success, 1 error, 2 (check only) changes pending.
Run '${NAME} <command> --help' for a command's options.`;

const COMMAND_HELP: Record<Command, string> = {
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

interface Parsed {
  command: Command | null;
  /** `encryption` only: its subcommand. */
  action?: EncryptionAction;
  values: Partial<
    {
      "database-url": string;
      "env-file": string[];
      json: boolean;
      "lock-timeout": string;
      timeout: string;
      print: boolean;
      strict: boolean;
      help: boolean;
    }
  >;
}

function parse(argv: string[]): Parsed {
  let result;
  try {
    result = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const quoted = /'(-[^' ]*)/.exec((err as Error).message)?.[1];
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      throw new UsageError(`unknown option ${quoted ?? ""}; see ${NAME} --help`.replace("option ;", "option;"));
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && quoted !== undefined) {
      const needsValue = OPTIONS[quoted.replace(/^--/, "") as OptionName]?.type === "string";
      throw new UsageError(needsValue ? `${quoted} needs a value; see ${NAME} --help` : `${quoted} takes no value; see ${NAME} --help`);
    }
    throw new UsageError(`${(err as Error).message.split(".")[0]}; see ${NAME} --help`);
  }
  const values = result.values as Parsed["values"];
  const [first, ...extra] = result.positionals;
  if (first === undefined) return { command: null, values };
  if (first === "help") {
    // `aibridge-seed help [command]` is `aibridge-seed [command] --help`.
    if (extra.length > 0 && !isCommand(extra[0])) throw new UsageError(`unknown command ${JSON.stringify(extra[0])}; see ${NAME} --help`);
    return { command: (extra[0] as Command | undefined) ?? null, values: { ...values, help: true } };
  }
  if (!isCommand(first)) throw new UsageError(`unknown command ${JSON.stringify(first)}; see ${NAME} --help`);
  let action: EncryptionAction | undefined;
  if (first === "encryption") {
    action = extra.shift() as EncryptionAction | undefined;
    if ((action === undefined && !values.help) || (action !== undefined && !ENCRYPTION_ACTIONS.includes(action))) {
      throw new UsageError(`${NAME} encryption needs rotate, decrypt or status; see ${NAME} encryption --help`);
    }
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}; see ${NAME} ${first} --help`);
  for (const name of Object.keys(values) as OptionName[]) {
    if (!COMMAND_OPTIONS[first].includes(name)) {
      throw new UsageError(`--${name} does not apply to ${first}; see ${NAME} ${first} --help`);
    }
  }
  return { command: first, action, values };
}

// The environment the providers are read from: the env files, then the
// real environment on top (like the demo: what the operator exported wins
// over what a file suggests). An empty variable counts as unset, as
// everywhere else, so it does not hide a file's value.
function mergedEnv(io: CliIO, envFiles: string[]): EnvRecord {
  const fromFiles: Record<string, string> = {};
  for (const path of envFiles) {
    let text: string;
    try {
      text = readTextFile(path);
    } catch (err) {
      throw new UsageError(`cannot read --env-file ${JSON.stringify(path)}: ${(err as Error).message}`);
    }
    Object.assign(fromFiles, parseDotenv(text));
  }
  const env: EnvRecord = { ...fromFiles };
  for (const [k, v] of Object.entries(io.env)) if (v !== undefined && v !== "") env[k] = v;
  return env;
}

function databaseUrl(flag: string | undefined, env: EnvRecord): string {
  let url = flag ?? "";
  if (url === "" && (env.DATABASE_URL ?? "") !== "") url = env.DATABASE_URL!;
  if (url === "" && (env.DATABASE_URL_FILE ?? "") !== "") {
    try {
      url = readTextFile(env.DATABASE_URL_FILE!).trim();
    } catch (err) {
      throw new UsageError(`cannot read DATABASE_URL_FILE ${JSON.stringify(env.DATABASE_URL_FILE)}: ${(err as Error).message}`);
    }
  }
  if (url === "") throw new UsageError("DATABASE_URL is not set; pass --database-url or set DATABASE_URL");
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
  return url;
}

function connect(url: string): Sql {
  return postgres(url, {
    max: 1,
    onnotice: () => {},
    connect_timeout: 10,
    // Names every connection of the CLI in pg_stat_activity (the seed's
    // transaction says the same), so a blocked replica's LockTimeoutError
    // and a DBA see who holds lock 10.
    connection: { application_name: SEED_APPLICATION_NAME },
  }) as unknown as Sql;
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
  const paint = paintFor(io.isTTY, io.env.NO_COLOR);
  const json = argv.includes("--json");
  let command: Command | null = null;
  const fail = (err: unknown): number => {
    io.stderr(`error: ${errorLine(err)}\n`);
    if (json) io.stdout(`${JSON.stringify(errorDocument(command, err), null, 2)}\n`);
    return EXIT_ERROR;
  };

  let parsed: Parsed;
  try {
    parsed = parse(argv);
  } catch (err) {
    return fail(err);
  }
  command = parsed.command;
  const { values } = parsed;
  if (values.help) {
    io.stdout(`${command === null ? TOP_HELP : commandHelp(command)}\n`);
    return EXIT_OK;
  }
  if (command === null) return fail(new UsageError(`missing command (plan, check, apply, schema or encryption); see ${NAME} --help`));

  const emit = (doc: CliJsonDocument, human: string): void => io.stdout(`${json ? JSON.stringify(doc, null, 2) : human}\n`);
  if (command === "schema" && values.print) {
    emit({ version: CLI_JSON_VERSION, command, ok: true, applied: false, sql: SCHEMA_SQL }, SCHEMA_SQL.trim());
    return EXIT_OK;
  }

  let sql: Sql | null = null;
  try {
    const lockTimeoutMs = values["lock-timeout"] === undefined ? undefined : parseDuration(values["lock-timeout"]);
    const timeoutMs = values.timeout === undefined ? undefined : parseDuration(values.timeout, "--timeout");
    const env = mergedEnv(io, values["env-file"] ?? []);
    const url = databaseUrl(values["database-url"], env);
    sql = connect(url);
    return await run(command, sql, env, { lockTimeoutMs, timeoutMs }, paint, emit, parsed.action, values.strict === true);
  } catch (err) {
    return fail(err);
  } finally {
    await sql?.end({ timeout: 5 }).catch(() => {});
  }
}

async function run(
  command: Command,
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
