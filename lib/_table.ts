/**
 * Internal. The one table renderer behind `formatReport` and the CLI:
 * provider, type, action, keys, and the drifted fields (database value ->
 * environment value), laid out in columns, optionally coloured by action.
 *
 * @module
 */
import type { DriftField } from "./errors.ts";
import type { PlanAction, PlanEntry } from "./report.ts";

/** Colours a whole line by its SGR code, or returns it as is. */
export type Colour = (code: string, text: string) => string;

const ACTION_COLOUR: Record<PlanAction, string> = { insert: "32", unchanged: "2", "skip-deleted": "33", drift: "31" };

/** Lays out rows as a plain-text table with a header line. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => [...(r[i] ?? "")].length)));
  const line = (cells: string[]) => cells.map((c, i) => c + " ".repeat(Math.max(0, widths[i] - [...c].length))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

function driftText(f: DriftField): string {
  return `${f.field}: ${JSON.stringify(f.stored)} -> ${JSON.stringify(f.desired)}`;
}

/**
 * One row per provider (one more per extra drifted field), a DRIFT column
 * only when something drifted. Colour codes never count towards a
 * column's width: whole lines are coloured after layout.
 */
export function entriesTable(entries: readonly PlanEntry[], colour: Colour = (_c, t) => t): string {
  const anyDrift = entries.some((e) => e.action === "drift");
  const header = ["PROVIDER", "TYPE", "ACTION", "KEYS", ...(anyDrift ? ["DRIFT (database -> environment)"] : [])];
  const rows: { cells: string[]; code: string }[] = [];
  for (const e of entries) {
    const code = ACTION_COLOUR[e.action];
    const first = [e.name, e.type, e.action, e.maskedKeys.length > 0 ? e.maskedKeys.join(", ") : "-"];
    if (!anyDrift) {
      rows.push({ cells: first, code });
      continue;
    }
    const [head, ...rest] = e.drift.map(driftText);
    rows.push({ cells: [...first, head ?? ""], code });
    for (const text of rest) rows.push({ cells: ["", "", "", "", text], code });
  }
  const lines = formatTable(header, rows.map((r) => r.cells)).split("\n");
  return lines.map((line, i) => (i === 0 ? colour("1", line) : colour(rows[i - 1].code, line))).join("\n");
}
