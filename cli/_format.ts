/**
 * Internal. What `aibridge-seed` prints: the human tables (keys masked,
 * colours only when asked for), the one-line error, and the `--json`
 * documents, all from the one model (`SeedPlan`, `SeedReport`).
 *
 * @module
 */
import { entriesTable, formatTable } from "../lib/_table.ts";
import type { EncryptionRewrite, EncryptionStatus } from "../lib/encryption.ts";
import { ConfigError, DriftError, LockTimeoutError, SeedError } from "../lib/errors.ts";
import { summaryLine } from "../lib/format_report.ts";
import type { LogFields } from "../lib/logger.ts";
import type { AuditFailure, SeedPlan, SeedReport, SeedWarning } from "../lib/report.ts";
import type { EnvRecord } from "../lib/runtime_env.ts";
import { CLI_JSON_VERSION, type CliJsonDocument, type CliJsonError } from "./_json.ts";

/** A mistake in the command line: unknown command or option, bad value. */
export class UsageError extends Error {
  /** Creates the error from one line saying what is wrong and how to get help. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Builds the `--json` document of a plan (`plan`, `check`) or a report (`apply`). */
export function resultDocument(command: "plan" | "check" | "apply", result: SeedPlan | SeedReport): CliJsonDocument {
  const doc: CliJsonDocument = {
    version: CLI_JSON_VERSION,
    command,
    ok: true,
    changes: result.changes,
    counts: result.counts,
    entries: result.entries,
    warnings: result.warnings,
    timings: result.timings,
  };
  if ("lockTaken" in result) {
    doc.lockTaken = result.lockTaken;
    doc.statements = result.statements;
    doc.roundTrips = result.roundTrips;
    doc.auditDelivered = result.auditDelivered;
    doc.auditFailures = result.auditFailures;
  }
  return doc;
}

/** Builds the `--json` document of a failed command. */
export function errorDocument(command: string | null, err: unknown): CliJsonDocument {
  const error: CliJsonError = { code: err instanceof SeedError ? err.code : "error", message: errorLine(err) };
  if (err instanceof UsageError) error.code = "usage";
  if (err instanceof ConfigError) error.problems = err.problems;
  if (err instanceof DriftError) error.drifts = err.drifts;
  if (err instanceof LockTimeoutError) error.holder = err.holder;
  if (err instanceof SeedError && err.timings !== null) error.timings = err.timings;
  return { version: CLI_JSON_VERSION, command, ok: false, error };
}

/**
 * The one line an error is reported with (without the `error: ` prefix):
 * never a stack trace, never a secret (library errors carry none, and a
 * database error's parameters are never read).
 */
export function errorLine(err: unknown): string {
  if (err instanceof ConfigError) {
    const head = err.problems.length === 1
      ? "invalid AI provider configuration"
      : `invalid AI provider configuration (${err.problems.length} problems)`;
    return `${head}: ${err.problems.join("; ")}`;
  }
  // A DriftError keeps the library's wording, one drifted provider per
  // line of its message, joined here into one line.
  let message = err instanceof Error ? err.message : String(err);
  // The library names its function; on the command line the fix is a command.
  if (err instanceof SeedError && err.code === "schema_missing") {
    message = message.replace(/applySchema\(sql\)/g, "`aibridge-seed schema`");
  }
  if (err instanceof SeedError && err.code === "database_error") {
    message = message.replace(/the client's connect_timeout/g, "--connect-timeout").replace(
      /raise connect_timeout$/,
      "raise --connect-timeout",
    );
  }
  // The fix a drift or a refused adoption names is, here, the command for that provider.
  message = message.replace(
    /(AI provider "([a-z0-9-]+)"(?:(?!AI provider ")[^\n])*?)with (adoptProviders|restoreProviders)/g,
    (_all, head: string, name: string, fn: string) =>
      `${head}with \`aibridge-seed ${fn === "adoptProviders" ? "adopt" : "restore"} ${name}\``,
  );
  return message.split("\n").map((l) => l.trim()).filter((l) => l !== "").join("; ");
}

/** ANSI styling, or none. */
export interface Paint {
  /** Whether colours are on. */
  on: boolean;
  /** Applies an SGR code (e.g. `32` green) to `text` when on. */
  (code: string, text: string): string;
}

/**
 * Whether to colour a stream, first rule that applies: `--no-color` turns
 * colours off; `FORCE_COLOR` set and not empty turns them on, or off when
 * it is `0` or `false` (as Node and chalk read it); `NO_COLOR` set and not
 * empty turns them off (https://no-color.org); so does `TERM=dumb`;
 * otherwise colours exactly when the stream is a terminal.
 */
export function colourOn(isTTY: boolean, env: EnvRecord, noColorFlag = false): boolean {
  if (noColorFlag) return false;
  const force = env.FORCE_COLOR ?? "";
  if (force !== "") return force !== "0" && force.toLowerCase() !== "false";
  if ((env.NO_COLOR ?? "") !== "") return false;
  if (env.TERM === "dumb") return false;
  return isTTY;
}

/** ANSI styling when `on`, else the text as it is. */
export function paintFor(on: boolean): Paint {
  const paint = ((code: string, text: string) => (on ? `\x1b[${code}m${text}\x1b[0m` : text)) as Paint;
  paint.on = on;
  return paint;
}

function fieldsText(fields: LogFields): string {
  return Object.entries(fields).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
}

function warningLines(warnings: SeedWarning[], paint: Paint): string[] {
  return warnings.map((w) => `${paint("33", "warning:")} ${w.msg}${Object.keys(w.fields).length > 0 ? ` (${fieldsText(w.fields)})` : ""}`);
}

const NOTHING = "No AI providers configured in the environment: nothing to seed.";

/**
 * What goes to stderr beside a plan or report (or its `--json` document)
 * in human mode: its warnings, and an apply's audit failures, one line each
 * (stdout keeps the table).
 */
export function formatNotices(result: { warnings?: SeedWarning[]; auditFailures?: AuditFailure[] }, paint: Paint): string[] {
  const failures = (result.auditFailures ?? []).map((f) =>
    `${paint("31", "audit failed:")} ${f.resourceType} ${f.resourceId}: ${f.message}`
  );
  return [...warningLines(result.warnings ?? [], paint), ...failures];
}

/** Renders a plan: table, summary, verdict (its warnings: {@link formatNotices}). */
export function formatPlan(plan: SeedPlan, paint: Paint): string {
  if (plan.entries.length === 0) return NOTHING;
  const drift = plan.counts.drift;
  const them = drift === 1 ? "it" : "them";
  const verdict = drift > 0
    ? paint(
      "31",
      `apply would fail and write nothing: ${drift} ${
        drift === 1 ? "provider differs" : "providers differ"
      } from the database. Update ${them} through the API, stop seeding ${them} from the environment, or adopt the environment's values: aibridge-seed adopt ${
        plan.entries.filter((e) => e.action === "drift").map((e) => e.name).join(" ")
      }`,
    )
    : plan.changes
    ? "apply would insert the providers marked insert, with their keys."
    : "No changes: the database matches the environment.";
  return [entriesTable(plan.entries, paint), "", paint("1", `Plan: ${summaryLine(plan)}.`), verdict].join("\n");
}

/** Renders an apply's report: table, summary, and which path the seed took (warnings, audit failures: {@link formatNotices}). */
export function formatApply(report: SeedReport, paint: Paint): string {
  if (report.entries.length === 0) return NOTHING;
  const ms = (n: number) => `${Math.round(n)} ms`;
  const trips = `${report.roundTrips} round ${report.roundTrips === 1 ? "trip" : "trips"}`;
  const path = report.lockTaken
    ? `Seed lock taken after ${ms(report.timings.lockWaitMs)}; ${trips}.`
    : `Seed lock not needed: nothing to insert; ${trips}.`;
  return [entriesTable(report.entries, paint), "", paint("1", `Applied: ${summaryLine(report)}.`), path].join("\n");
}

// --- encryption rotate|decrypt|status ------------------------------------------

/** The subcommands of `aibridge-seed encryption`. */
export type EncryptionAction = "rotate" | "decrypt" | "status";

/** Builds the `--json` document of `encryption rotate|decrypt` (a rewrite) or `encryption status`. */
export function encryptionDocument(action: EncryptionAction, result: EncryptionRewrite | EncryptionStatus): CliJsonDocument {
  const doc: CliJsonDocument = { version: CLI_JSON_VERSION, command: "encryption", ok: true, action };
  if ("values" in result) doc.encryption = result;
  else doc.rewrite = result;
  return doc;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function revocationLines(result: EncryptionRewrite, paint: Paint): string[] {
  const lines: string[] = [];
  if (result.revoked.length > 0) lines.push(`Revoked in dbcrypt_keys: ${result.revoked.join(", ")}.`);
  for (const k of result.notRevoked) {
    lines.push(
      `${paint("33", "not revoked:")} ${k.digest}: ${k.reason}; it stays active, so every Coder replica still needs it configured`,
    );
  }
  return lines;
}

/** Renders what `encryption rotate` or `encryption decrypt` did: counts, the key, revocations. */
export function formatEncryptionRewrite(action: "rotate" | "decrypt", result: EncryptionRewrite, paint: Paint): string {
  const values = `${plural(result.keys, "API key", "API keys")} and ${plural(result.settings, "settings value", "settings values")}`;
  const head = action === "rotate"
    ? `Rotated to key ${result.primary}${result.registered ? " (newly registered in dbcrypt_keys)" : ""}: ${values} re-encrypted.`
    : `Decrypted: ${values} turned back to plaintext.`;
  return [paint("1", head), ...revocationLines(result, paint)].join("\n");
}

/** Renders `encryption status`: values per key id, the dbcrypt_keys rows, and what is not configured. */
export function formatEncryptionStatus(status: EncryptionStatus, paint: Paint): string {
  const lines: string[] = [];
  if (status.primary === null) {
    lines.push("No encryption key configured (CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS is empty): the seed writes plaintext.");
  } else {
    const others = status.configured.slice(1);
    lines.push(`Encryption keys configured: primary ${status.primary}${others.length > 0 ? `, also ${others.join(", ")}` : ""}.`);
  }
  lines.push("");
  const valueRows = status.values.map((v) => [
    v.keyId ?? "plaintext",
    String(v.keys),
    String(v.settings),
    v.keyId === null ? "-" : v.keyId === status.primary ? "yes (primary)" : v.configured ? "yes" : "NO",
  ]);
  lines.push(
    valueRows.length === 0 ? "No stored API keys or settings." : formatTable(["KEY ID", "API KEYS", "SETTINGS", "CONFIGURED"], valueRows),
  );
  lines.push("");
  if (status.dbcryptKeys === null) {
    lines.push("The dbcrypt_keys table does not exist (create it with aibridge-seed schema).");
  } else if (status.dbcryptKeys.length === 0) {
    lines.push("dbcrypt_keys is empty: no key was ever registered.");
  } else {
    lines.push(formatTable(
      ["NUMBER", "ACTIVE", "REVOKED", "CREATED", "REVOKED AT", "CONFIGURED", "TEST"],
      status.dbcryptKeys.map((k) => [
        String(k.number),
        k.activeKeyDigest ?? "-",
        k.revokedKeyDigest ?? "-",
        k.createdAt,
        k.revokedAt ?? "-",
        k.configured ? "yes" : "no",
        k.testOk === null ? "-" : k.testOk ? "ok" : "FAILED",
      ]),
    ));
  }
  for (const m of status.missing) {
    lines.push(
      `${paint("31", "not configured:")} key ${m.keyId} encrypts values of ${m.providers.map((p) => JSON.stringify(p)).join(", ")}; ` +
        "add it to CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS, or nothing can read them",
    );
  }
  for (const k of status.dbcryptKeys ?? []) {
    if (k.activeKeyDigest !== null && !k.configured) {
      lines.push(
        `${
          paint("33", "warning:")
        } key ${k.activeKeyDigest} is active in dbcrypt_keys but not configured, and Coder refuses to start so; configure it, or rotate to revoke it once nothing uses it`,
      );
    }
  }
  const stale = status.values.filter((v) => v.keyId !== status.primary && (v.keyId !== null || status.primary !== null));
  const staleCount = stale.reduce((n, v) => n + v.keys + v.settings, 0);
  const primaryRevoked = status.primary !== null && (status.dbcryptKeys ?? []).some((k) => k.revokedKeyDigest === status.primary);
  if (primaryRevoked) {
    lines.push(
      `${
        paint("31", "revoked:")
      } the primary key ${status.primary} was revoked and can never encrypt again; put a new key first in CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS`,
    );
  } else if (status.primary !== null && staleCount > 0) {
    lines.push(
      `${
        plural(staleCount, "value is", "values are")
      } not under the primary key (blank ones stay plaintext): run aibridge-seed encryption rotate.`,
    );
  }
  return lines.join("\n").replace(/\n+$/, "");
}
