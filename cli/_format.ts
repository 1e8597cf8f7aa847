/**
 * Internal. What `aibridge-seed` prints: the human tables (keys masked,
 * colours only when asked for), the one-line error, and the `--json`
 * documents, all from the one model (`SeedPlan`, `SeedReport`).
 *
 * @module
 */
import { entriesTable } from "../lib/_table.ts";
import { ConfigError, DriftError, LockTimeoutError, SeedError } from "../lib/errors.ts";
import { summaryLine } from "../lib/format_report.ts";
import type { LogFields } from "../lib/logger.ts";
import type { SeedPlan, SeedReport, SeedWarning } from "../lib/report.ts";
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

function fieldsText(fields: LogFields): string {
  return Object.entries(fields).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
}

function warningLines(warnings: SeedWarning[], paint: Paint): string[] {
  return warnings.map((w) => `${paint("33", "warning:")} ${w.msg}${Object.keys(w.fields).length > 0 ? ` (${fieldsText(w.fields)})` : ""}`);
}

const NOTHING = "No AI providers configured in the environment: nothing to seed.";

/** Renders a plan: table, summary, verdict. */
export function formatPlan(plan: SeedPlan, paint: Paint): string {
  if (plan.entries.length === 0) return [NOTHING, ...warningLines(plan.warnings, paint)].join("\n");
  const drift = plan.counts.drift;
  const them = drift === 1 ? "it" : "them";
  const verdict = drift > 0
    ? paint(
      "31",
      `apply would fail and write nothing: ${drift} ${drift === 1 ? "provider differs" : "providers differ"} from the database. Update ${them} through the API, or stop seeding ${them} from the environment.`,
    )
    : plan.changes
    ? "apply would insert the providers marked insert, with their keys."
    : "No changes: the database matches the environment.";
  return [entriesTable(plan.entries, paint), "", paint("1", `Plan: ${summaryLine(plan)}.`), verdict, ...warningLines(plan.warnings, paint)]
    .join("\n");
}

/** Renders an apply's report: table, summary, and which path the seed took. */
export function formatApply(report: SeedReport, paint: Paint): string {
  if (report.entries.length === 0) return [NOTHING, ...warningLines(report.warnings, paint)].join("\n");
  const ms = (n: number) => `${Math.round(n)} ms`;
  const trips = `${report.roundTrips} round ${report.roundTrips === 1 ? "trip" : "trips"}`;
  const path = report.lockTaken
    ? `Seed lock taken after ${ms(report.timings.lockWaitMs)}; ${trips}.`
    : `Seed lock not needed: nothing to insert; ${trips}.`;
  const failures = report.auditFailures.map((f) => `${paint("31", "audit failed:")} ${f.resourceType} ${f.resourceId}: ${f.message}`);
  return [
    entriesTable(report.entries, paint),
    "",
    paint("1", `Applied: ${summaryLine(report)}.`),
    path,
    ...warningLines(report.warnings, paint),
    ...failures,
  ].join("\n");
}
