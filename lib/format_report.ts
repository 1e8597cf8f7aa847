/**
 * Human-readable rendering of a {@link SeedReport}: one row per provider,
 * keys masked.
 *
 * @module
 */
import type { SeedReport } from "./seed.ts";

/** Lays out rows as a plain-text table with a header line. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => [...(r[i] ?? "")].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/**
 * Renders a seed report as a table (provider, type, action, keys) followed
 * by a one-line summary. Keys are shown masked.
 *
 * @example
 * ```ts
 * import { formatReport } from "@aibridge/seed";
 * // console.log(formatReport(await seedAIProvidersFromEnv(sql)));
 * ```
 *
 * @param report A report from `seedAIProvidersFromEnv`.
 * @returns Text without a trailing newline.
 */
export function formatReport(report: SeedReport): string {
  if (report.providers.length === 0) return "no AI providers configured in the environment: nothing to seed";
  const table = formatTable(
    ["PROVIDER", "TYPE", "ACTION", "KEYS"],
    report.providers.map((p) => [p.name, p.type, p.action, p.maskedKeys.length > 0 ? p.maskedKeys.join(", ") : "-"]),
  );
  const summary =
    `${report.inserted} inserted (${report.keysInserted} keys), ${report.unchanged} unchanged, ${report.skippedDeleted} skipped (deleted) in ${
      Math.round(report.timings.totalMs)
    } ms`;
  const warnings = report.warnings.map((w) => `warning: ${w.msg} ${JSON.stringify(w.fields)}`);
  const failures = report.auditFailures.map((f) => `audit failed for ${f.resourceType} ${f.resourceId}: ${f.message}`);
  return [table, "", summary, ...warnings, ...failures].join("\n");
}
