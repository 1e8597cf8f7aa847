/**
 * Internal. `aibridge-seed adopt <name>…` and `aibridge-seed restore
 * <name>…`: print the changes (database -> environment), ask on a
 * terminal or go ahead with `--yes` (without either, refuse), then write
 * and say what was written; with `--json`, one document.
 *
 * @module
 */
import { formatTable } from "../lib/_table.ts";
import { adoptProviders, type AdoptResult } from "../lib/adopt.ts";
import { restoreProviders, type RestoreResult } from "../lib/restore.ts";
import type { LogFields } from "../lib/logger.ts";
import type { EnvRecord } from "../lib/runtime_env.ts";
import type { Sql } from "../lib/types.ts";
import { errorDocument, errorLine, type Paint, UsageError } from "./_format.ts";
import { CLI_JSON_VERSION, type CliJsonDocument } from "./_json.ts";

/** The two commands that change existing rows. */
export type ChangeCommand = "adopt" | "restore";

const NAME = "aibridge-seed";

/** The lines of the overview's command list. */
export const CHANGE_COMMANDS_HELP = `  adopt <name>…
           Write the environment's type, base URL and Bedrock settings over drifted
           providers (keys stay); asks first on a terminal, else needs --yes
  restore <name>…
           Bring soft-deleted providers back, with their keys; asks first, or --yes`;

/** The help of `--yes`. */
export const YES_HELP = "  -y, --yes              Go ahead without asking (adopt, restore); required when stdin is not a terminal";

/** Each command's help, without its options. */
export const CHANGE_HELP: Record<ChangeCommand, string> = {
  adopt: `Usage: ${NAME} adopt <name>… [options]

The fix for drift when the environment is right. For each named provider
whose stored type, base URL or Bedrock region differs from the environment,
writes the environment's type, base URL and Bedrock settings (encrypted when
CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS is set); its keys, enabled flag and
display name stay as they are. First prints every change (database value ->
environment value), then asks on a terminal; --yes goes ahead without asking,
and without a terminal it is required. One transaction under advisory lock 10,
one audit entry per adopted provider. A name that is not configured, has no
row, or was soft-deleted (see restore) refuses the whole command; nothing is
written. Exits 0 when done or nothing differs, 1 on error or when declined.`,
  restore: `Usage: ${NAME} restore <name>… [options]

Undoes a soft delete: the most recently updated deleted row of each name gets
deleted = false and enabled = true, with the keys still attached to it, so the
next seed sees it live (the seed itself never brings a deleted provider back).
Prints what it would restore, then asks on a terminal; --yes goes ahead
without asking, and without a terminal it is required. One transaction under
advisory lock 10, one audit entry per provider. A name with a live row, or
without a deleted one, refuses the whole command; nothing is written. Exits
0 when done, 1 on error or when declined.`,
};

/** What a change command runs with. */
export interface ChangeRun {
  /** The connected client. */
  sql: Sql;
  /** The environment (real one and dotenv files merged). */
  env: EnvRecord;
  /** The provider names given. */
  names: string[];
  /** `--lock-timeout` and `--timeout`. */
  bounds: { lockTimeoutMs: number | undefined; timeoutMs: number | undefined };
  /** `--yes`. */
  yes: boolean;
  /** `--json`. */
  json: boolean;
  /** Asks a yes/no question on the terminal; absent when stdin is not one. */
  confirm?: (question: string) => Promise<boolean>;
  /** Colours for stdout. */
  paint: Paint;
  /** Writes to stdout. */
  stdout(text: string): void;
  /** Writes to stderr. */
  stderr(text: string): void;
}

type Result = AdoptResult | RestoreResult;

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function fieldsText(fields: LogFields): string {
  return Object.entries(fields).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
}

/** The table of what adopt changes: one row per provider, one more per extra field. */
export function adoptTable(result: AdoptResult, paint: Paint): string {
  const rows: { cells: string[]; code: string }[] = [];
  for (const e of result.entries) {
    const code = e.action === "adopt" ? "33" : "2";
    const [first, ...rest] = e.changes.map((c) => `${c.field}: ${JSON.stringify(c.stored)} -> ${JSON.stringify(c.desired)}`);
    rows.push({ cells: [e.name, e.type, e.action, first ?? "-"], code });
    for (const text of rest) rows.push({ cells: ["", "", "", text], code });
  }
  const lines = formatTable(["PROVIDER", "TYPE", "ACTION", "CHANGES (database -> environment)"], rows.map((r) => r.cells)).split("\n");
  return lines.map((line, i) => paint(i === 0 ? "1" : rows[i - 1].code, line)).join("\n");
}

/** The table of what restore changes. */
export function restoreTable(result: RestoreResult, paint: Paint): string {
  const rows: { cells: string[]; code: string }[] = [];
  for (const e of result.entries) {
    const changes = ["deleted: true -> false", ...(e.wasEnabled ? [] : ["enabled: false -> true"])];
    const row = e.deletedRows > 1 ? `${e.providerId} (newest of ${e.deletedRows} deleted)` : e.providerId;
    rows.push({ cells: [e.name, e.type, row, String(e.keyCount), changes[0]], code: "32" });
    for (const text of changes.slice(1)) rows.push({ cells: ["", "", "", "", text], code: "32" });
  }
  const lines = formatTable(["PROVIDER", "TYPE", "ROW", "KEYS", "CHANGES"], rows.map((r) => r.cells)).split("\n");
  return lines.map((line, i) => paint(i === 0 ? "1" : rows[i - 1].code, line)).join("\n");
}

function table(command: ChangeCommand, result: Result, paint: Paint): string {
  return command === "adopt" ? adoptTable(result as AdoptResult, paint) : restoreTable(result as RestoreResult, paint);
}

/** How many providers a result changes (or would). */
function changing(command: ChangeCommand, result: Result): string[] {
  return command === "adopt"
    ? (result as AdoptResult).entries.filter((e) => e.action === "adopt").map((e) => e.name)
    : (result as RestoreResult).entries.map((e) => e.name);
}

function question(command: ChangeCommand, names: string[]): string {
  const them = plural(names.length, "provider", "providers");
  return command === "adopt"
    ? `Write the environment's values over ${them} (${names.join(", ")})? Their keys stay as they are. [y/N] `
    : `Restore ${them} (${names.join(", ")}) with their keys? [y/N] `;
}

function done(command: ChangeCommand, result: Result, paint: Paint): string {
  const names = changing(command, result);
  const ms = `${Math.round(result.timings.totalMs)} ms`;
  if (command === "adopt") {
    const unchanged = result.entries.length - names.length;
    const rest = unchanged > 0 ? `; ${plural(unchanged, "provider was", "providers were")} already as the environment says` : "";
    return paint("1", `Adopted: ${names.join(", ")} (${plural(names.length, "provider", "providers")}) in ${ms}${rest}.`);
  }
  const keys = (result as RestoreResult).entries.reduce((n, e) => n + e.keyCount, 0);
  return paint(
    "1",
    `Restored: ${names.join(", ")} (${plural(names.length, "provider", "providers")}, ${plural(keys, "key", "keys")}) in ${ms}.`,
  );
}

function notices(result: Result, paint: Paint): string[] {
  const warnings = "warnings" in result ? result.warnings : [];
  return [
    ...warnings.map((w) => `${paint("33", "warning:")} ${w.msg}${Object.keys(w.fields).length > 0 ? ` (${fieldsText(w.fields)})` : ""}`),
    ...result.auditFailures.map((f) => `${paint("31", "audit failed:")} ${f.resourceType} ${f.resourceId}: ${f.message}`),
  ];
}

function document(command: ChangeCommand, result: Result): CliJsonDocument {
  const doc: CliJsonDocument = { version: CLI_JSON_VERSION, command, ok: true };
  if (command === "adopt") doc.adopt = result as AdoptResult;
  else doc.restore = result as RestoreResult;
  return doc;
}

async function call(command: ChangeCommand, run: ChangeRun, dryRun: boolean): Promise<Result> {
  return command === "adopt"
    ? await adoptProviders(run.sql, run.names, { env: run.env, ...run.bounds, dryRun })
    : await restoreProviders(run.sql, run.names, { ...run.bounds, dryRun });
}

// The decision shown, without what only execution knows.
function decisions(result: Result): string {
  return JSON.stringify(result.entries);
}

/**
 * Runs `adopt` or `restore` and resolves to the exit code: 0 when done
 * (or, for adopt, nothing differs), 1 when refused (no terminal and no
 * `--yes`) or declined. Library errors propagate to `runCli`, which
 * reports them.
 */
export async function runChange(command: ChangeCommand, run: ChangeRun): Promise<number> {
  const { paint } = run;
  const out = (lines: string[]): void => {
    if (!run.json && lines.length > 0) run.stdout(`${lines.join("\n")}\n`);
  };
  const notify = (result: Result): void => {
    const lines = run.json ? [] : notices(result, paint);
    if (lines.length > 0) run.stderr(`${lines.join("\n")}\n`);
  };
  const finish = (result: Result, lines: string[]): number => {
    out(lines);
    notify(result);
    if (run.json) run.stdout(`${JSON.stringify(document(command, result), null, 2)}\n`);
    return 0;
  };

  if (run.yes) {
    const result = await call(command, run, false);
    const lines = [table(command, result, paint), ""];
    lines.push(result.written ? done(command, result, paint) : "Nothing to adopt: every named provider already matches the environment.");
    return finish(result, lines);
  }

  const preview = await call(command, run, true);
  const names = changing(command, preview);
  if (names.length === 0) {
    return finish(preview, [table(command, preview, paint), "", "Nothing to adopt: every named provider already matches the environment."]);
  }
  // The changes first: on stdout, or (with --json, when asking) on stderr, so the document stays alone on stdout.
  const shown = `${table(command, preview, paint)}\n`;
  if (!run.json) run.stdout(shown);
  else if (run.confirm !== undefined) run.stderr(shown);

  const refuse = (code: string, err: Error): number => {
    run.stderr(`error: ${errorLine(err)}\n`);
    if (run.json) {
      const doc = errorDocument(command, err);
      doc.error!.code = code;
      if (command === "adopt") doc.adopt = preview as AdoptResult;
      else doc.restore = preview as RestoreResult;
      run.stdout(`${JSON.stringify(doc, null, 2)}\n`);
    }
    return 1;
  };
  if (run.confirm === undefined) {
    return refuse(
      "usage",
      new UsageError(`${command} changes the database and stdin is not a terminal to ask on: pass --yes to go ahead; nothing was written`),
    );
  }
  if (!await run.confirm(question(command, names))) {
    return refuse("aborted", new Error(`${command} declined: nothing was written`));
  }

  const result = await call(command, run, false);
  const lines: string[] = [];
  if (decisions(result) !== decisions(preview)) {
    lines.push("The rows changed since they were shown; this is what was written:", table(command, result, paint), "");
  }
  lines.push(result.written ? done(command, result, paint) : "Nothing to adopt: every named provider already matches the environment.");
  return finish(result, lines);
}
