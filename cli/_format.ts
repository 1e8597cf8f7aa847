/**
 * What `aibridge-seed` prints: the human tables (keys masked, colours only
 * when asked for), the one-line error, and the `--json` documents.
 *
 * @module
 */
import { ConfigError, DriftError, type DriftField, type LockHolder, LockTimeoutError, type ProviderDrift, SeedError } from "./errors.ts";
import { formatTable } from "./format_report.ts";
import type { LogFields } from "./logger.ts";
import type { PlanEntry } from "./plan.ts";
import type { SeedPlan, SeedWarning } from "./plan_seed.ts";
import type { SeedReport } from "./seed.ts";

/** The version of the `--json` documents; raised only on an incompatible change. */
export const CLI_JSON_VERSION = 1;

/** A provider in a `--json` document. */
export interface CliJsonProvider {
  /** Provider name. */
  name: string;
  /** Provider type. */
  type: string;
  /**
   * `plan`/`check`: `insert`, `unchanged`, `skip-deleted` or `drift` (what
   * apply would do). `apply`: `inserted`, `unchanged` or `skipped-deleted`
   * (what it did).
   */
  action: string;
  /** The row's id; `null` for a provider not in the database yet. */
  providerId: string | null;
  /** Keys inserted (apply) or to insert (plan) with it. */
  keyCount: number;
  /** Those keys, masked. */
  maskedKeys: string[];
  /** With `drift`: every differing field, stored and desired value. */
  drift: DriftField[];
}

/** Counts in a `--json` document: planned (plan, check) or done (apply). */
export interface CliJsonSummary {
  /** Providers inserted or to insert. */
  insert: number;
  /** Keys inserted or to insert. */
  keys: number;
  /** Providers present and equal. */
  unchanged: number;
  /** Providers skipped because an operator deleted them. */
  skipDeleted: number;
  /** Providers whose stored row differs (always 0 after a successful apply). */
  drift: number;
}

/** The error of a failed command in a `--json` document. */
export interface CliJsonError {
  /** A `SeedError` code (`config_invalid`, `drift`, `lock_timeout`, …) or `usage`. */
  code: string;
  /** The same one line as on stderr, without `error: `. */
  message: string;
  /** `config_invalid`: every problem. */
  problems?: string[];
  /** `drift`: every drifted provider with its fields. */
  drifts?: ProviderDrift[];
  /** `lock_timeout`: the backend holding the lock, when seen. */
  holder?: LockHolder | null;
}

/**
 * The one document `--json` prints on stdout, whatever the command and
 * outcome. Fields absent for a command are left out.
 */
export interface CliJsonDocument {
  /** {@link CLI_JSON_VERSION}. */
  version: number;
  /** `plan`, `check`, `apply`, `schema`, or `null` when the arguments were unusable. */
  command: string | null;
  /** `false` exactly when the exit code is 1. */
  ok: boolean;
  /** plan, check: something would be inserted or has drifted. apply: something was inserted. */
  changes?: boolean;
  /** plan, check, apply: counts. */
  summary?: CliJsonSummary;
  /** plan, check, apply: one entry per configured provider, in name order. */
  providers?: CliJsonProvider[];
  /** plan, check, apply: configuration warnings. */
  warnings?: SeedWarning[];
  /** apply: whether the advisory lock was taken (false: nothing to do, decided without it). */
  lockTaken?: boolean;
  /** apply: statements sent, one round trip each. */
  roundTrips?: number;
  /** apply: phase durations in milliseconds. */
  timings?: SeedReport["timings"];
  /** schema: whether the schema was applied (false with `--print`). */
  applied?: boolean;
  /** schema --print: the SQL. */
  sql?: string;
  /** When `ok` is false. */
  error?: CliJsonError;
}

/** Builds the `--json` document of a plan (`plan` and `check`). */
export function planDocument(command: "plan" | "check", plan: SeedPlan): CliJsonDocument {
  return {
    version: CLI_JSON_VERSION,
    command,
    ok: true,
    changes: plan.changes,
    summary: {
      insert: plan.toInsert,
      keys: plan.keysToInsert,
      unchanged: plan.unchanged,
      skipDeleted: plan.skipDeleted,
      drift: plan.drifted,
    },
    providers: plan.entries.map((e) => ({
      name: e.name,
      type: e.type,
      action: e.action,
      providerId: e.providerId,
      keyCount: e.keyCount,
      maskedKeys: e.maskedKeys,
      drift: e.drift,
    })),
    warnings: plan.warnings,
  };
}

/** Builds the `--json` document of an `apply`. */
export function reportDocument(report: SeedReport): CliJsonDocument {
  return {
    version: CLI_JSON_VERSION,
    command: "apply",
    ok: true,
    changes: report.inserted > 0,
    summary: {
      insert: report.inserted,
      keys: report.keysInserted,
      unchanged: report.unchanged,
      skipDeleted: report.skippedDeleted,
      drift: 0,
    },
    providers: report.providers.map((p) => ({
      name: p.name,
      type: p.type,
      action: p.action,
      providerId: p.providerId,
      keyCount: p.keyCount,
      maskedKeys: p.maskedKeys,
      drift: [],
    })),
    warnings: report.warnings,
    lockTaken: report.lockTaken,
    roundTrips: report.roundTrips,
    timings: report.timings,
  };
}

/** Builds the `--json` document of a failed command. */
export function errorDocument(command: string | null, err: unknown): CliJsonDocument {
  const error: CliJsonError = { code: err instanceof SeedError ? err.code : "error", message: errorLine(err) };
  if (err instanceof UsageError) error.code = "usage";
  if (err instanceof ConfigError) error.problems = err.problems;
  if (err instanceof DriftError) error.drifts = err.drifts;
  if (err instanceof LockTimeoutError) error.holder = err.holder;
  return { version: CLI_JSON_VERSION, command, ok: false, error };
}

/** A mistake in the command line: unknown command or option, bad value. */
export class UsageError extends Error {
  /**
   * Creates the error.
   *
   * @param message One line saying what is wrong and how to get help.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

function quote(value: string): string {
  return JSON.stringify(value);
}

function driftText(f: DriftField): string {
  return `${f.field}: ${quote(f.stored)} -> ${quote(f.desired)}`;
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
  const message = err instanceof Error ? err.message : String(err);
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
 * Colours only on a terminal and never when `NO_COLOR` is set to anything
 * but the empty string (https://no-color.org).
 */
export function paintFor(isTTY: boolean, noColor: string | undefined): Paint {
  const on = isTTY && (noColor === undefined || noColor === "");
  const paint = ((code: string, text: string) => (on ? `\x1b[${code}m${text}\x1b[0m` : text)) as Paint;
  paint.on = on;
  return paint;
}

const ACTION_COLOUR: Record<string, string> = {
  insert: "32",
  inserted: "32",
  drift: "31",
  "skip-deleted": "33",
  "skipped-deleted": "33",
  unchanged: "2",
};

function fieldsText(fields: LogFields): string {
  return Object.entries(fields).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
}

function warningLines(warnings: SeedWarning[], paint: Paint): string[] {
  return warnings.map((w) => `${paint("33", "warning:")} ${w.msg}${Object.keys(w.fields).length > 0 ? ` (${fieldsText(w.fields)})` : ""}`);
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

// Lays the rows out with formatTable and colours whole lines, so colour
// codes never count towards a column's width.
function table(header: string[], rows: { cells: string[]; colour: string }[], paint: Paint): string {
  const lines = formatTable(header, rows.map((r) => r.cells)).split("\n");
  return lines.map((line, i) => (i === 0 ? paint("1", line) : paint(rows[i - 1].colour, line))).join("\n");
}

function keysCell(masked: string[]): string {
  return masked.length > 0 ? masked.join(", ") : "-";
}

/** Renders a plan as a table with one row per provider (one more per extra drifted field) and a summary. */
export function formatPlan(plan: SeedPlan, paint: Paint): string {
  if (plan.entries.length === 0) {
    return ["No AI providers configured in the environment: nothing to seed.", ...warningLines(plan.warnings, paint)].join("\n");
  }
  const anyDrift = plan.drifted > 0;
  const header = ["PROVIDER", "TYPE", "ACTION", "KEYS", ...(anyDrift ? ["DRIFT (database -> environment)"] : [])];
  const rows: { cells: string[]; colour: string }[] = [];
  for (const e of plan.entries) rows.push(...planRows(e, anyDrift));
  const summary = `Plan: ${plan.toInsert} to insert (${
    plural(plan.keysToInsert, "key")
  }), ${plan.unchanged} unchanged, ${plan.skipDeleted} skipped (deleted), ${plan.drifted} drifted.`;
  const verdict = plan.drifted > 0
    ? paint(
      "31",
      `apply would fail and write nothing: ${plural(plan.drifted, "provider differs", "providers differ")} from the database. Update ${
        plan.drifted === 1 ? "it" : "them"
      } through the API, or stop seeding ${plan.drifted === 1 ? "it" : "them"} from the environment.`,
    )
    : plan.changes
    ? "apply would insert the providers marked insert, with their keys."
    : "No changes: the database matches the environment.";
  return [table(header, rows, paint), "", paint("1", summary), verdict, ...warningLines(plan.warnings, paint)].join("\n");
}

function planRows(e: PlanEntry, driftColumn: boolean): { cells: string[]; colour: string }[] {
  const colour = ACTION_COLOUR[e.action] ?? "0";
  const first = [e.name, e.type, e.action, e.action === "insert" ? keysCell(e.maskedKeys) : "-"];
  if (!driftColumn) return [{ cells: first, colour }];
  const [head, ...rest] = e.drift.map(driftText);
  return [
    { cells: [...first, head ?? ""], colour },
    ...rest.map((text) => ({ cells: ["", "", "", "", text], colour })),
  ];
}

/** Renders an apply's report: table, summary, and which path the seed took. */
export function formatApply(report: SeedReport, paint: Paint): string {
  if (report.providers.length === 0) {
    return ["No AI providers configured in the environment: nothing to seed.", ...warningLines(report.warnings, paint)].join("\n");
  }
  const rows = report.providers.map((p) => ({
    cells: [p.name, p.type, p.action, keysCell(p.maskedKeys)],
    colour: ACTION_COLOUR[p.action] ?? "0",
  }));
  const summary = `Applied: ${report.inserted} inserted (${
    plural(report.keysInserted, "key")
  }), ${report.unchanged} unchanged, ${report.skippedDeleted} skipped (deleted).`;
  const ms = (n: number) => `${Math.round(n)} ms`;
  const path = report.lockTaken
    ? `Seed lock taken after ${ms(report.timings.lockWaitMs)}; ${plural(report.roundTrips, "round trip")} in ${ms(report.timings.totalMs)}.`
    : `Seed lock not needed: nothing to insert; ${plural(report.roundTrips, "round trip")} in ${ms(report.timings.totalMs)}.`;
  const failures = report.auditFailures.map((f) => `${paint("31", "audit failed:")} ${f.resourceType} ${f.resourceId}: ${f.message}`);
  return [
    table(["PROVIDER", "TYPE", "ACTION", "KEYS"], rows, paint),
    "",
    paint("1", summary),
    path,
    ...warningLines(report.warnings, paint),
    ...failures,
  ].join("\n");
}
